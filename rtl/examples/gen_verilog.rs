//! Print the generated Verilog for a configuration file: `gen_verilog CONFIG.toml`.

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: gen_verilog CONFIG.toml"))?;
    let g = linewatch_model::Config::load(path.as_ref())?.geometry();
    print!("{}", linewatch_rtl::generate_verilog(&g));
    Ok(())
}
