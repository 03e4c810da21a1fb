//! cargo run --example generate -- MODEL.gguf "Once upon a time"
use llmkit::{GenerateOptions, Model, SamplerOptions, SessionOptions};
use std::io::Write;

fn main() -> Result<(), llmkit::Error> {
    let args: Vec<String> = std::env::args().collect();
    let model = Model::load(args.get(1).map(String::as_str).unwrap_or("stories260K.gguf"))?;
    let mut session = model.session(&SessionOptions::default())?;
    let prompt = args.get(2).cloned().unwrap_or_default();
    let opts = GenerateOptions { max_new_tokens: 64, ..Default::default() };
    let mut stream = session.stream(prompt.as_str(), &SamplerOptions::greedy(), &opts)?;
    for chunk in &mut stream {
        print!("{}", chunk?.text);
        std::io::stdout().flush().ok();
    }
    println!();
    Ok(())
}
