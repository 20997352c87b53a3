//! Embeds the migration files (`migrations/<engine>/<version>_<description>.sql`) in the crate.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::new();
    for (engine, constant) in [("sqlite", "SQLITE"), ("postgres", "POSTGRES")] {
        let dir = root.join(engine);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.retain(|path| path.extension().is_some_and(|e| e == "sql"));
        files.sort();
        writeln!(out, "pub(super) static {constant}: &[Migration] = &[")?;
        for path in files {
            let stem = path.file_stem().and_then(|s| s.to_str()).ok_or("migration file name is not UTF-8")?;
            let (version, description) =
                stem.split_once('_').ok_or_else(|| format!("{stem}: not named <version>_<description>"))?;
            let version: i64 = version.parse().map_err(|_| format!("{stem}: the version is not a number"))?;
            let description = description.replace('_', " ");
            writeln!(
                out,
                "    Migration {{ version: {version}, description: {description:?}, sql: include_str!({:?}) }},",
                path.display().to_string()
            )?;
        }
        writeln!(out, "];")?;
    }
    std::fs::write(Path::new(&std::env::var("OUT_DIR")?).join("migrations.rs"), out)?;
    Ok(())
}
