//! One colour per contender, the same in every chart: the only table that assigns colours.
//! rcu-core and rcu-queue are warm colours, liburcu blue, the epoch/swap crates green and
//! purple, locks greys and browns. A contender missing from the table (a new bench group)
//! gets a stable colour derived from its name and a warning, so that it still plots.

use plotters::style::RGBColor;

/// Contender name (criterion function id) → colour.
pub const PALETTE: &[(&str, RGBColor)] = &[
    // rcu-core and rcu-queue.
    ("rcu-core", RGBColor(214, 39, 40)),
    ("rcu-core (nested)", RGBColor(255, 152, 150)),
    ("rcu-core call_rcu1 (intrusive)", RGBColor(214, 39, 40)),
    ("rcu-core call_rcu (closure)", RGBColor(255, 187, 120)),
    ("rcu-core RcuCell<Vec>", RGBColor(255, 127, 14)),
    ("rcu-queue RcuTailq", RGBColor(214, 39, 40)),
    ("rcu", RGBColor(214, 39, 40)),
    ("rcu-core Domain", RGBColor(173, 73, 74)),
    ("RcuHashMap", RGBColor(214, 39, 40)),
    ("RcuHashMap get", RGBColor(214, 39, 40)),
    ("RcuHashMap get, resizing", RGBColor(255, 152, 150)),
    ("RcuFlatHashMap", RGBColor(230, 85, 13)),
    ("RcuFlatHashMap get", RGBColor(230, 85, 13)),
    ("rcu-core synchronize_rcu", RGBColor(214, 39, 40)),
    ("rcu-core synchronize_rcu_async", RGBColor(255, 187, 120)),
    ("rcu-core async", RGBColor(255, 187, 120)),
    ("rcu-core RcuArcCell::read", RGBColor(214, 39, 40)),
    ("rcu-core RcuArcCell::load_full", RGBColor(255, 152, 150)),
    ("rcu-core RcuArcCell::store", RGBColor(255, 127, 14)),
    // liburcu (both names are the same library: they never share a chart).
    ("liburcu memb", RGBColor(31, 119, 180)),
    ("liburcu memb call_rcu", RGBColor(31, 119, 180)),
    // Other reclamation schemes.
    ("crossbeam-epoch", RGBColor(44, 160, 44)),
    ("arc-swap", RGBColor(148, 103, 189)),
    ("arc-swap load", RGBColor(148, 103, 189)),
    ("arc-swap load_full", RGBColor(197, 176, 213)),
    ("arc-swap store", RGBColor(98, 60, 140)),
    // Concurrent maps.
    ("papaya", RGBColor(31, 158, 137)),
    ("dashmap", RGBColor(174, 199, 232)),
    ("scc HashMap", RGBColor(219, 219, 141)),
    // Locks.
    ("std RwLock", RGBColor(127, 127, 127)),
    ("std RwLock<Vec>", RGBColor(127, 127, 127)),
    ("std RwLock<linked list>", RGBColor(23, 190, 207)),
    ("parking_lot RwLock", RGBColor(140, 86, 75)),
    ("parking_lot RwLock<Vec>", RGBColor(140, 86, 75)),
    ("std Mutex", RGBColor(188, 189, 34)),
    ("std Mutex<Vec>", RGBColor(188, 189, 34)),
    ("std Mutex<linked list>", RGBColor(227, 119, 194)),
    ("rwlock", RGBColor(127, 127, 127)),
    ("bql", RGBColor(188, 189, 34)),
    ("std RwLock<HashMap>", RGBColor(127, 127, 127)),
    ("parking_lot RwLock<HashMap>", RGBColor(140, 86, 75)),
    // The unsynchronized floor.
    ("plain linked list", RGBColor(0, 0, 0)),
    ("std HashMap get", RGBColor(0, 0, 0)),
    ("RandomState hash", RGBColor(199, 199, 199)),
];

/// Colours for contenders missing from [`PALETTE`].
const FALLBACK: [RGBColor; 6] = [
    RGBColor(0, 128, 128),
    RGBColor(128, 0, 128),
    RGBColor(0, 0, 128),
    RGBColor(128, 128, 0),
    RGBColor(70, 130, 70),
    RGBColor(90, 90, 160),
];

/// The colour of `contender`.
pub fn colour(contender: &str) -> RGBColor {
    if let Some((_, c)) = PALETTE.iter().find(|(name, _)| *name == contender) {
        return *c;
    }
    eprintln!("report: contender {contender:?} has no colour in palette.rs; using a fallback");
    let hash = contender.bytes().fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    FALLBACK[hash % FALLBACK.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use benches::hash_map::BenchMap;
    use benches::list::TraversalList;
    use benches::read_mostly::ReadMostly;
    use benches::read_side::ReadSide;
    use benches::reclaim::Reclaimer;

    /// Names that share a colour on purpose, because they are one contender seen through
    /// different workloads that never share a chart: (name, the name it shares with).
    const SAME_CONTENDER: &[(&str, &str)] = &[
        ("rcu-core call_rcu1 (intrusive)", "rcu-core"),
        ("rcu-queue RcuTailq", "rcu-core"),
        ("rcu", "rcu-core"),
        ("liburcu memb call_rcu", "liburcu memb"),
        ("std RwLock<Vec>", "std RwLock"),
        ("rwlock", "std RwLock"),
        ("parking_lot RwLock<Vec>", "parking_lot RwLock"),
        ("std Mutex<Vec>", "std Mutex"),
        ("bql", "std Mutex"),
        ("std RwLock<HashMap>", "std RwLock"),
        ("parking_lot RwLock<HashMap>", "parking_lot RwLock"),
        ("RcuHashMap", "rcu-core"),
        ("RcuHashMap get", "rcu-core"),
        ("RcuFlatHashMap get", "RcuFlatHashMap"),
        ("rcu-core synchronize_rcu", "rcu-core"),
        ("rcu-core RcuArcCell::read", "rcu-core"),
        ("RcuHashMap get, resizing", "rcu-core (nested)"),
        ("rcu-core RcuArcCell::load_full", "rcu-core (nested)"),
        (
            "rcu-core synchronize_rcu_async",
            "rcu-core call_rcu (closure)",
        ),
        ("rcu-core async", "rcu-core call_rcu (closure)"),
        ("rcu-core RcuArcCell::store", "rcu-core RcuCell<Vec>"),
        ("arc-swap load", "arc-swap"),
        ("std HashMap get", "plain linked list"),
    ];

    #[test]
    fn every_colour_means_one_contender_family() {
        for (i, (a, ca)) in PALETTE.iter().enumerate() {
            for (b, cb) in &PALETTE[i + 1..] {
                let root = |name: &'static str| {
                    SAME_CONTENDER
                        .iter()
                        .find(|(alias, _)| *alias == name)
                        .map_or(name, |(_, root)| *root)
                };
                assert_eq!(
                    ca == cb,
                    root(a) == root(b),
                    "{a} and {b}: the same colour must mean the same contender, and only then"
                );
            }
        }
    }

    #[test]
    fn the_suites_contenders_have_colours() {
        for name in [
            benches::read_side::RcuCore::NAME,
            benches::read_side::RcuCoreNested::NAME,
            benches::read_side::StdRwLock::NAME,
            benches::read_side::StdMutex::NAME,
            benches::read_mostly::RcuCore::NAME,
            benches::read_mostly::StdRwLock::NAME,
            benches::read_mostly::StdMutex::NAME,
            benches::reclaim::RcuIntrusive::NAME,
            benches::reclaim::RcuClosure::NAME,
            benches::list::RcuQueue::NAME,
            benches::list::RcuCellVec::NAME,
            benches::list::StdRwLockVec::NAME,
            benches::list::StdMutexVec::NAME,
            benches::list::StdRwLockList::NAME,
            benches::list::StdMutexList::NAME,
            benches::list::PlainList::NAME,
            <benches::hash_map::Rcu>::NAME,
            benches::hash_map::RcuFlat::NAME,
            benches::hash_map::StdRwLock::NAME,
            // Contenders defined next to their criterion target (dev-dependencies).
            "crossbeam-epoch",
            "arc-swap",
            "parking_lot RwLock",
            "parking_lot RwLock<Vec>",
            "liburcu memb",
            "liburcu memb call_rcu",
        ]
        .into_iter()
        .chain(qdev_demo::qdev::sync_mode::SyncMode::ALL.map(|m| m.as_str()))
        {
            assert!(
                PALETTE.iter().any(|(n, _)| *n == name),
                "{name} has no colour"
            );
        }
    }

    #[test]
    fn unknown_contenders_get_a_stable_fallback() {
        assert_eq!(colour("a new contender"), colour("a new contender"));
        assert_eq!(colour("liburcu memb"), RGBColor(31, 119, 180));
    }
}
