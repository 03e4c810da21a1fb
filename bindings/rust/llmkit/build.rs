// Adds an rpath to libllmkit's folder for this crate's tests and examples, so `cargo test` runs
// without LD_LIBRARY_PATH. The folder comes from llmkit-sys (links = "llmkit").
fn main() {
    if let Ok(dir) = std::env::var("DEP_LLMKIT_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
