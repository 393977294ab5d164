//! The top layer: the stress scenario behind the `qdev-demo` binary. Its parameters
//! ([`config`]), the run itself ([`scenario`]), one run's results ([`summary`]), the default
//! comparison of the three `--sync` modes ([`compare`]), the legend ([`glossary`]) and the
//! command line ([`cli`]).

pub mod cli;
pub mod compare;
pub mod config;
pub mod glossary;
pub mod scenario;
pub mod summary;
