//! `icsim bench`: engine benchmarks. `bench block-fetch` runs the reference model of
//! `../shared/bench/BLOCK_FETCH.md` on icsim's engine and prints the spec's JSON line, to
//! compare with other engines (`../shared/bench/ns3/run.sh` runs the same model on ns-3).

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use icsim_sim::bench::{BlockFetch, BlockFetchParams};

/// The bench subcommands.
#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// The block-fetch reference model (BLOCK_FETCH.md): prints one JSON line.
    BlockFetch(BlockFetchArgs),
}

/// The flags of the block-fetch model, with the spec's defaults.
#[derive(Args)]
pub(crate) struct BlockFetchArgs {
    /// Number of devices N.
    #[arg(long, default_value_t = 1000)]
    n: u32,
    /// Blocks per image B.
    #[arg(long, default_value_t = 64)]
    blocks: u32,
    /// Minimum one-way latency, ms.
    #[arg(long, default_value_t = 5)]
    lat_min: u64,
    /// Maximum one-way latency, ms.
    #[arg(long, default_value_t = 15)]
    lat_max: u64,
    /// Independent loss probability per message, in [0, 1).
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Retransmission timeout, ms.
    #[arg(long, default_value_t = 100)]
    timeout: u64,
    /// Device start window, ms.
    #[arg(long, default_value_t = 1000)]
    start_window: u64,
    /// Seed of the random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs a bench subcommand.
pub(crate) fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::BlockFetch(args) => block_fetch(args),
    }
}

fn block_fetch(args: BlockFetchArgs) -> Result<ExitCode> {
    let params = BlockFetchParams {
        n: args.n,
        blocks: args.blocks,
        lat_min_ms: args.lat_min,
        lat_max_ms: args.lat_max,
        loss: args.loss,
        timeout_ms: args.timeout,
        start_window_ms: args.start_window,
        seed: args.seed,
    };
    params.validate()?;
    // The spec's wall time: from just before the model is built until the run has finished.
    let started = std::time::Instant::now();
    let model = BlockFetch::new(params)?;
    let o = model.run()?;
    let wall_s = started.elapsed().as_secs_f64();
    println!(
        "{{\"engine\":\"icsim\",\"icsim_version\":\"{}\",\"scheduler\":\"timing-wheel\",{params},\
         \"last_completion_ms\":{},\"mean_completion_ms\":{:.3},\"std_completion_ms\":{:.3},\
         \"p50_completion_ms\":{},\"p99_completion_ms\":{},\"max_completion_ms\":{},\
         \"messages_sent\":{},\"messages_lost\":{},\"timeouts\":{},\"events\":{},\
         \"engine_events\":{},\"wall_s\":{wall_s:.6},\"events_per_s\":{:.1}}}",
        env!("CARGO_PKG_VERSION"),
        o.last_completion_ms,
        o.mean_completion_ms,
        o.std_completion_ms,
        o.p50_completion_ms,
        o.p99_completion_ms,
        o.max_completion_ms,
        o.messages_sent,
        o.messages_lost,
        o.timeouts,
        o.events,
        o.engine_events,
        o.events as f64 / wall_s.max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}
