//! Behaviour of a link direction: exact bandwidth, tail drop, FIFO order, outages, MTU,
//! loss after serialisation, determinism, and invariants under arbitrary traffic.

use icsim_protocol::time::{Duration, Instant};
use icsim_sim::net::{
    DropCause, LatencyModel, LinkDirection, LinkParams, LinkStats, LossModel, OutageSpan, Verdict,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// Some instant in 2023, far from zero so that nothing works by accident.
const T0: Instant = Instant::from_micros(1_700_000_000_000_000);

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn link(bandwidth_bps: u64, queue_packets: u32) -> LinkParams {
    LinkParams {
        latency: LatencyModel::Fixed(Duration::ZERO),
        bandwidth_bps,
        queue_packets,
        mtu: 1500,
        loss: LossModel::None,
    }
}

fn us(t: u64) -> Instant {
    T0 + Duration::from_micros(t)
}

fn arrival(v: Verdict) -> Instant {
    match v {
        Verdict::Deliver { at } => at,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

/// Every offered datagram is counted under exactly one outcome.
fn assert_conserved(s: &LinkStats) {
    let outcomes = [
        s.delivered,
        s.dropped_mtu,
        s.dropped_outage,
        s.dropped_queue_full,
        s.lost,
    ];
    let datagrams: u64 = outcomes.iter().map(|t| t.datagrams).sum();
    let bytes: u64 = outcomes.iter().map(|t| t.bytes).sum();
    assert_eq!((datagrams, bytes), (s.offered.datagrams, s.offered.bytes));
}

#[test]
fn a_100_mbit_link_carries_exactly_its_bandwidth() {
    let mut r = rng(1);
    let mut d = LinkDirection::new(&link(100_000_000, u32::MAX), []);

    // 10,000 datagrams of 1,250 bytes (100 us each), offered at once.
    for i in 1..=10_000u64 {
        assert_eq!(arrival(d.send(T0, 1_250, &mut r)), us(i * 100));
    }
    assert_eq!(d.busy_until() - T0, Duration::from_secs(1));

    // 100,000 datagrams of 1 byte (80 ns each), offered at once once the link is idle.
    let t1 = us(2_000_000);
    let mut last = t1;
    for i in 1..=100_000u64 {
        last = arrival(d.send(t1, 1, &mut r));
        assert_eq!(last - t1, Duration::from_micros((i * 80).div_ceil(1_000)));
    }
    eprintln!("100,000 x 1 byte at 100 Mbit/s: {}", last - t1);
    assert_eq!(last - t1, Duration::from_millis(8));

    // Alternating 1,250 and 1 bytes: 5,000 pairs = 50,040,000 bits = 500.4 ms.
    let t2 = us(3_000_000);
    for _ in 0..5_000 {
        d.send(t2, 1_250, &mut r);
        last = arrival(d.send(t2, 1, &mut r));
    }
    eprintln!("5,000 x (1,250 + 1) bytes at 100 Mbit/s: {}", last - t2);
    assert_eq!(last - t2, Duration::from_micros(500_400));

    let s = d.stats();
    let bits = 8 * s.offered.bytes;
    assert_eq!(s.delivered, s.offered);
    assert_eq!(s.busy_ns, bits * 10, "busy time = bits / 100 Mbit/s");
    assert_eq!(s.peak_queue, 100_000);
    assert_conserved(s);
}

/// 1 byte at 3 Mbit/s takes 2,666.67 ns: rounding each datagram up to the nanosecond
/// would make 300,000 of them take 100 us too long.
#[test]
fn bandwidth_stays_exact_when_a_byte_is_not_a_whole_number_of_nanoseconds() {
    let mut r = rng(1);
    let mut d = LinkDirection::new(&link(3_000_000, u32::MAX), []);
    let mut last = T0;
    for _ in 0..300_000 {
        last = arrival(d.send(T0, 1, &mut r));
    }
    eprintln!("300,000 x 1 byte at 3 Mbit/s: {}", last - T0);
    assert_eq!(last - T0, Duration::from_millis(800));
    assert_eq!(d.stats().busy_ns, 800_000_000);
}

#[test]
fn a_full_queue_tail_drops() {
    let mut r = rng(2);
    // 1,250 bytes at 1 Mbit/s: 10 ms each; at most 4 waiting or in transmission.
    let mut d = LinkDirection::new(&link(1_000_000, 4), []);
    let verdicts: Vec<Verdict> = (0..10).map(|_| d.send(T0, 1_250, &mut r)).collect();
    for (i, v) in verdicts.iter().enumerate() {
        if i < 4 {
            assert_eq!(arrival(*v), us(10_000 * (i as u64 + 1)));
        } else {
            assert_eq!(*v, Verdict::Drop(DropCause::QueueFull));
        }
    }
    assert_eq!(d.queue_len(us(9_999)), 4);
    assert_eq!(
        d.send(us(9_999), 1_250, &mut r),
        Verdict::Drop(DropCause::QueueFull)
    );
    // The first has left at 10 ms exactly: one place, taken by the next, then full again.
    assert_eq!(d.queue_len(us(10_000)), 3);
    assert_eq!(arrival(d.send(us(10_000), 1_250, &mut r)), us(50_000));
    assert_eq!(
        d.send(us(10_000), 1, &mut r),
        Verdict::Drop(DropCause::QueueFull)
    );

    let s = d.stats();
    assert_eq!(s.offered.datagrams, 13);
    assert_eq!(s.delivered.datagrams, 5);
    assert_eq!(s.dropped_queue_full.datagrams, 8);
    assert_eq!(s.dropped_queue_full.bytes, 7 * 1_250 + 1);
    assert_eq!(s.peak_queue, 4);
    assert_conserved(s);
}

/// A lost datagram used the link: with everything lost, the queue still fills.
#[test]
fn lost_datagrams_still_use_the_bandwidth() {
    let mut r = rng(3);
    let p = LinkParams {
        loss: LossModel::Bernoulli { p: 1.0 },
        ..link(1_000_000, 4)
    };
    let mut d = LinkDirection::new(&p, []);
    let verdicts: Vec<Verdict> = (0..10).map(|_| d.send(T0, 1_250, &mut r)).collect();
    assert!(
        verdicts[..4]
            .iter()
            .all(|v| *v == Verdict::Drop(DropCause::Loss))
    );
    assert!(
        verdicts[4..]
            .iter()
            .all(|v| *v == Verdict::Drop(DropCause::QueueFull))
    );
    assert_eq!(d.stats().busy_ns, 40_000_000);
    assert_eq!(d.busy_until(), us(40_000));
    assert_eq!(d.stats().lost.datagrams, 4);
}

#[test]
fn fifo_order_is_kept_under_random_latency() {
    let mut r = rng(4);
    let p = LinkParams {
        latency: LatencyModel::Uniform {
            min: Duration::ZERO,
            max: Duration::from_millis(20),
        },
        ..link(10_000_000, 64)
    };
    let mut d = LinkDirection::new(&p, []);
    // 100 bytes at 10 Mbit/s take 80 us; one is offered every 100 us.
    let arrivals: Vec<Instant> = (0..10_000u64)
        .map(|i| arrival(d.send(us(100 * i), 100, &mut r)))
        .collect();
    let mut held = 0;
    for (i, w) in arrivals.windows(2).enumerate() {
        assert!(w[0] <= w[1], "datagram {} overtook its predecessor", i + 1);
        held += usize::from(w[0] == w[1]);
    }
    for (i, a) in arrivals.iter().enumerate() {
        let sent = us(100 * i as u64);
        assert!(*a >= sent + Duration::from_micros(80));
        assert!(*a <= sent + Duration::from_micros(20_080));
    }
    eprintln!("FIFO: {held} of 10,000 arrivals held back behind their predecessor");
    // Latency varies by 20 ms between datagrams 0.1 ms apart: most wait for one before.
    assert!(held > 5_000, "{held}");
}

#[test]
fn an_outage_drops_exactly_what_is_offered_inside_it() {
    let mut r = rng(5);
    let outage = OutageSpan {
        start: us(10_000),
        end: us(20_000),
    };
    let mut d = LinkDirection::new(&link(1_000_000, 100), [outage]);
    // 100 bytes take 800 us; one is offered every millisecond.
    let dropped: Vec<u64> = (0..30u64)
        .filter(|&i| {
            let v = d.send(us(1_000 * i), 100, &mut r);
            match v {
                Verdict::Drop(DropCause::Outage) => true,
                v => {
                    assert_eq!(arrival(v), us(1_000 * i + 800));
                    false
                }
            }
        })
        .collect();
    assert_eq!(dropped, (10..20).collect::<Vec<_>>());
    assert!(!d.is_down(us(9_999)) && d.is_down(us(10_000)));
    assert!(d.is_down(us(19_999)) && !d.is_down(us(20_000)));
    let s = d.stats();
    assert_eq!(s.dropped_outage.datagrams, 10);
    assert_eq!(s.delivered.datagrams, 20);
    assert_conserved(s);

    // A datagram admitted just before the outage is still carried through it.
    let mut d = LinkDirection::new(&link(1_000_000, 100), [outage]);
    assert_eq!(arrival(d.send(us(9_999), 1_250, &mut r)), us(19_999));
}

#[test]
fn an_oversize_datagram_is_dropped_and_counted() {
    let mut r = rng(6);
    let p = LinkParams {
        mtu: 1_280,
        ..link(1_000_000_000, 10)
    };
    let mut d = LinkDirection::new(&p, []);
    assert!(matches!(d.send(T0, 1_280, &mut r), Verdict::Deliver { .. }));
    assert_eq!(d.send(T0, 1_281, &mut r), Verdict::Drop(DropCause::Mtu));
    assert_eq!(d.send(T0, 65_535, &mut r), Verdict::Drop(DropCause::Mtu));
    let s = d.stats();
    assert_eq!(s.dropped_mtu.datagrams, 2);
    assert_eq!(s.dropped_mtu.bytes, 1_281 + 65_535);
    assert_eq!(s.dropped(DropCause::Mtu), s.dropped_mtu);
    // An oversize datagram does not take a place in the queue nor any time.
    assert_eq!(d.queue_len(T0), 1);
    assert_conserved(s);
}

/// A lossy, jittery link with an outage, fed irregular traffic.
fn run(seed: u64) -> (Vec<Verdict>, LinkStats) {
    let p = LinkParams {
        latency: LatencyModel::LogNormal {
            median: Duration::from_millis(30),
            sigma: 0.6,
        },
        bandwidth_bps: 10_000_000,
        queue_packets: 5,
        mtu: 1_024,
        loss: LossModel::GilbertElliott {
            p_good_to_bad: 0.02,
            p_bad_to_good: 0.3,
            loss_good: 0.001,
            loss_bad: 0.5,
        },
    };
    let outage = OutageSpan {
        start: us(2_000_000),
        end: us(3_000_000),
    };
    let mut d = LinkDirection::new(&p, [outage]);
    // The traffic has its own stream, the same in every run.
    let mut traffic = rng(99);
    let mut link_rng = rng(seed);
    let mut t = T0;
    let verdicts = (0..20_000)
        .map(|_| {
            t += Duration::from_micros(traffic.next_u64() % 800);
            let len = (traffic.next_u64() % 1_100) as usize;
            d.send(t, len, &mut link_rng)
        })
        .collect();
    (verdicts, *d.stats())
}

#[test]
fn the_same_seed_gives_the_same_verdicts() {
    let (a, sa) = run(42);
    let (b, sb) = run(42);
    let (c, _) = run(43);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert_ne!(a, c);
    assert_conserved(&sa);
    eprintln!("lossy link, 20,000 offered: {sa:?}");
    // Every cause happens in this run.
    for cause in [
        DropCause::Mtu,
        DropCause::Outage,
        DropCause::QueueFull,
        DropCause::Loss,
    ] {
        assert!(sa.dropped(cause).datagrams > 0, "{cause:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary traffic on arbitrary (even degenerate) links: no panic, FIFO arrivals no
    /// earlier than the serialisation allows, a bounded queue, and conserved counters.
    #[test]
    fn invariants_hold_under_arbitrary_traffic(
        bandwidth_bps in 0u64..2_000_000_000,
        queue_packets in 0u32..50,
        mtu in 0u32..2_000,
        jitter_us in 0u64..50_000,
        p in 0.0f64..1.0,
        seed: u64,
        traffic in proptest::collection::vec((0u64..5_000, 0usize..2_500), 1..300),
    ) {
        let params = LinkParams {
            latency: LatencyModel::Uniform {
                min: Duration::from_micros(100),
                max: Duration::from_micros(100 + jitter_us),
            },
            bandwidth_bps,
            queue_packets,
            mtu,
            loss: LossModel::Bernoulli { p },
        };
        let mut d = LinkDirection::new(&params, []);
        let mut r = rng(seed);
        let bw = u128::from(bandwidth_bps.max(1));
        let mut t = T0;
        let mut last = None;
        for (dt, len) in traffic {
            t += Duration::from_micros(dt);
            let v = d.send(t, len, &mut r);
            prop_assert!(d.queue_len(t) <= queue_packets.max(1) as usize);
            if let Verdict::Deliver { at } = v {
                let ser_ns = (len as u128 * 8_000_000_000).div_ceil(bw);
                let min_us = 100 + u64::try_from(ser_ns.div_ceil(1_000)).unwrap_or(u64::MAX);
                prop_assert!(at >= t + Duration::from_micros(min_us));
                if let Some(prev) = last {
                    prop_assert!(at >= prev);
                }
                last = Some(at);
            }
        }
        assert_conserved(d.stats());
    }

    /// On a lossless link without latency a datagram arrives when its transmission ends,
    /// so the arrivals say exactly how many datagrams are waiting or in transmission at
    /// any instant: the direction's queue length and its tail drops must agree with them,
    /// however the sends bunch up or spread out.
    #[test]
    fn queue_occupancy_matches_the_departures(
        bandwidth_bps in 1_000u64..200_000_000,
        queue_packets in 1u32..8,
        traffic in proptest::collection::vec((0u64..3_000, 1usize..1_500), 1..300),
    ) {
        let mut d = LinkDirection::new(&link(bandwidth_bps, queue_packets), []);
        let mut r = rng(1);
        let mut departures: Vec<Instant> = Vec::new();
        let mut t = T0;
        for (dt, len) in traffic {
            t += Duration::from_micros(dt);
            let waiting = departures.iter().filter(|&&at| at > t).count();
            prop_assert_eq!(d.queue_len(t), waiting);
            match d.send(t, len, &mut r) {
                Verdict::Deliver { at } => {
                    prop_assert!(waiting < queue_packets as usize);
                    departures.push(at);
                }
                Verdict::Drop(DropCause::QueueFull) => {
                    prop_assert_eq!(waiting, queue_packets as usize);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
