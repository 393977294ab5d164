//! The QEMU terms the output and `--help` use, one line each (at most 80 columns). The default
//! run's legend lists exactly the terms its table and verdict use ([`terms_in`]); `--help`
//! lists them all ([`all_terms`]).

/// Every term: the word as it appears in the output, and its definition.
pub const GLOSSARY: [(&str, &str); 9] = [
    (
        "I/O thread",
        "a thread that serves the guest's disk requests",
    ),
    (
        "main loop",
        "QEMU's main thread; it holds the BQL except while it polls",
    ),
    (
        "BQL",
        "QEMU's big lock; whoever changes the devices holds it",
    ),
    (
        "hot-plug",
        "adding or removing a disk while the machine runs",
    ),
    (
        "grace period",
        "the wait until no lookup can still see a removed disk",
    ),
    (
        "realize",
        "a device's set-up (opening its disk) before I/O may use it",
    ),
    (
        "LUN",
        "logical unit number: a disk's address behind a SCSI target",
    ),
    (
        "REPORT LUNS",
        "the SCSI command that lists the LUNs of a target",
    ),
    (
        "DEVICE_DELETED",
        "the event QEMU sends when an unplugged disk is finally freed",
    ),
];

/// Width of the term column.
const TERM_WIDTH: usize = 16;

fn block<'a>(entries: impl Iterator<Item = &'a (&'a str, &'a str)>) -> String {
    let mut out = String::from("Terms:\n");
    for (term, definition) in entries {
        out.push_str(&format!("  {term:<TERM_WIDTH$}{definition}\n"));
    }
    out
}

/// The glossary as `--help` prints it: every term.
///
/// ```
/// let terms = qdev_demo::run::glossary::all_terms();
/// assert!(terms.lines().all(|l| l.chars().count() <= 80));
/// assert!(terms.contains("REPORT LUNS"));
/// ```
pub fn all_terms() -> String {
    block(GLOSSARY.iter())
}

/// The "Terms:" block for `text`: the definitions of exactly the terms that occur in it, in
/// glossary order; empty if none does.
///
/// ```
/// use qdev_demo::run::glossary::terms_in;
/// let legend = terms_in("the main loop holds the BQL");
/// assert_eq!(legend.lines().count(), 3);
/// assert!(legend.contains("BQL") && !legend.contains("hot-plug"));
/// assert_eq!(terms_in("nothing here"), "");
/// ```
pub fn terms_in(text: &str) -> String {
    let mut used = GLOSSARY
        .iter()
        .filter(|(term, _)| text.contains(term))
        .peekable();
    if used.peek().is_none() {
        return String::new();
    }
    block(used)
}
