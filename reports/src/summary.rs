//! `summary.md`: the figures a plant engineer reads first.

use std::fmt::Write as _;

use crate::model::RunReport;

fn hours(v: Option<f64>) -> String {
    v.map_or_else(|| "not reached".to_string(), |h| format!("{h:.2} h"))
}

/// Render the summary of one run as Markdown.
pub fn render_summary(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# icsim run: {}\n", r.scenario.name);
    let _ = writeln!(
        s,
        "Seed {}, scenario SHA-256 `{}`, policy `{}`, epoch {}, horizon {} h.\n",
        r.seed,
        &r.scenario.sha256[..16.min(r.scenario.sha256.len())],
        r.scenario.policy,
        r.scenario.epoch,
        r.scenario.horizon_h
    );
    let f = &r.fleet;
    let _ = writeln!(
        s,
        "Fleet: {} PLCs in {} sites ({} redundancy cells), {} updates, {} device updates.\n",
        f.devices, f.sites, f.cells, f.updates, f.device_updates
    );
    let c = &r.completion;
    let _ = writeln!(s, "## Completion (from release)\n");
    let _ = writeln!(
        s,
        "| 50 % | 90 % | 99 % | 100 % | patched at the end |\n|---|---|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} ({:.1} %) |\n",
        hours(c.t50_h),
        hours(c.t90_h),
        hours(c.t99_h),
        hours(c.t100_h),
        c.patched,
        c.patched_share * 100.0
    );
    let i = &r.impact;
    let _ = writeln!(s, "## Exposure and downtime\n");
    let _ = writeln!(
        s,
        "- exposure: {:.1} device-hours on the vulnerable version after release\n- process downtime: {:.2} device-hours over {} reboots (longest {:.0} s); {:.3} cell-hours with a whole redundancy cell down\n",
        i.exposure_device_h,
        i.downtime_device_h,
        i.reboots,
        i.max_device_downtime_s,
        i.downtime_cell_h
    );
    let _ = writeln!(
        s,
        "## Network\n\n| tier | datagrams | bytes | lost | queue drops | outage drops |\n|---|---:|---:|---:|---:|---:|"
    );
    for (tier, t) in &r.network {
        let _ = writeln!(
            s,
            "| {tier} | {} | {} | {} | {} | {} |",
            t.datagrams, t.bytes, t.lost, t.queue_drops, t.outage_drops
        );
    }
    let p = &r.protocol;
    let _ = writeln!(
        s,
        "\nCoAP retransmissions: {}; OSCORE requests from the UM: {}; tokens issued: {}; re-keys: {}; device updates retried: {}; payload blocks served: {}.\n",
        p.retransmissions, p.oscore_requests, p.tokens_issued, p.rekeys, p.retries, p.blocks_served
    );
    let _ = writeln!(
        s,
        "## Backend load\n\n| station | served | dropped | max queue | utilisation |\n|---|---:|---:|---:|---:|"
    );
    for (name, l) in &r.backend {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {:.5} |",
            l.served, l.dropped, l.max_queue, l.utilisation
        );
    }
    let k = &r.crypto;
    let _ = writeln!(
        s,
        "\n## Cryptography on the devices\n\n{} signature verifications, {} payload decryptions, {} HKDF derivations, {} bytes of AES, {} bytes of SHA-256: {:.1} s of device CPU time in all.\n",
        k.device_signature_verifications,
        k.device_payload_decryptions,
        k.device_hkdf,
        k.device_aes_bytes,
        k.device_sha256_bytes,
        k.device_cpu_s
    );
    let _ = writeln!(
        s,
        "## Outcomes\n\n| update | outcome | devices |\n|---|---|---:|"
    );
    for (update, outcomes) in &r.outcomes {
        for (outcome, n) in outcomes {
            let _ = writeln!(s, "| {update} | {outcome} | {n} |");
        }
    }
    if !r.rejections.is_empty() {
        let _ = writeln!(
            s,
            "\n## Rejections and refusals\n\n| reason | count |\n|---|---:|"
        );
        for (reason, n) in &r.rejections {
            let _ = writeln!(s, "| {reason} | {n} |");
        }
    }
    if let Some(sec) = &r.security {
        s.push('\n');
        s.push_str(&crate::security::security_section(sec));
    }
    let _ = writeln!(
        s,
        "\n{} events simulated over {:.2} h.",
        r.engine.events, r.engine.simulated_h
    );
    s
}
