//! Shared counters (the built-in TSA's serial numbers when nodes run on several hosts): blocks
//! never overlap, also when reserved at once; a floor moves a counter up, never down; values
//! beyond 64 bits are kept.

use super::*;

pub(crate) async fn counters_hand_out_blocks_once(ctx: Ctx) {
    let s = ctx.store.clone();
    assert_eq!(s.reserve_counter("tsa_serial", 256, 1).await.unwrap(), 1);
    assert_eq!(s.reserve_counter("tsa_serial", 256, 1).await.unwrap(), 257);
    // A higher floor (a restore, a counter file that handed out more) moves it up …
    let big = 29_000_000_000_000_000_000u128;
    assert_eq!(
        s.reserve_counter("tsa_serial", 256, big).await.unwrap(),
        big
    );
    // … a lower one does not move it down.
    assert_eq!(
        s.reserve_counter("tsa_serial", 256, 1).await.unwrap(),
        big + 256
    );
    assert_eq!(s.reserve_counter("other", 10, 5).await.unwrap(), 5);
    // Reserved at once from many tasks: no block twice.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.reserve_counter("tsa_serial", 256, 1).await.unwrap()
        }));
    }
    let mut starts = HashSet::new();
    for t in tasks {
        let start = t.await.unwrap();
        assert_eq!((start - big) % 256, 0);
        assert!(starts.insert(start), "block {start} handed out twice");
    }
    assert_eq!(starts.len(), 16);
}
