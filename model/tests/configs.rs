//! The shipped configurations load and check.
use linewatch_model::Config;
use std::path::Path;

#[test]
fn shipped_configs_load() {
    for name in ["default", "ice40-small"] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../configs")
            .join(format!("{name}.toml"));
        let c = Config::load(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.geometry().window_lines >= 4096);
    }
}
