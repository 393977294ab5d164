//! Build script: only with the `liburcu` feature, compile `csrc/urcu_shim.c` with the
//! system C compiler into a static library and link the system liburcu-memb
//! (Debian package `liburcu-dev`). Without the feature it does nothing.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=csrc/urcu_shim.c");
    if env::var_os("CARGO_FEATURE_LIBURCU").is_none() {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let object = out.join("urcu_shim.o");
    let archive = out.join("liburcu_bench_shim.a");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    run(Command::new(&cc)
        .args([
            "-O2",
            "-fPIC",
            "-Wall",
            "-Wextra",
            "-c",
            "csrc/urcu_shim.c",
            "-o",
        ])
        .arg(&object));
    let _ = std::fs::remove_file(&archive);
    run(Command::new("ar").arg("crs").arg(&archive).arg(&object));
    println!("cargo::rustc-link-search=native={}", out.display());
    println!("cargo::rustc-link-lib=static=urcu_bench_shim");
    println!("cargo::rustc-link-lib=dylib=urcu-memb");
    println!("cargo::rustc-link-lib=dylib=urcu-common");
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("feature `liburcu`: could not run {cmd:?}: {e}; install a C compiler and binutils")
    });
    assert!(
        status.success(),
        "feature `liburcu`: {cmd:?} failed ({status}); is liburcu-dev installed? \
         (Debian/Ubuntu: apt-get install -y liburcu-dev)"
    );
}
