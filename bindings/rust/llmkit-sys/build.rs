// Links libllmkit.so. LLMKIT_LIB_DIR names the folder holding it (default: the repository's build/).
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LLMKIT_LIB_DIR");
    let dir = match std::env::var("LLMKIT_LIB_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../../build"),
    };
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=llmkit");
    // rpath for this crate's own test binaries.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    // Exposed to dependents' build scripts as DEP_LLMKIT_LIB_DIR (for their rpath).
    println!("cargo:lib_dir={}", dir.display());
}
