//! `jira-auth server keygen`: a key pair and the Application Link instructions. The instructions
//! (what to paste into Jira) are the data, on stdout; which files were written is narration.

use super::args::KeygenArgs;
use super::run::Ctx;
use crate::exit;
use crate::exit::{Category, Context as _, ContextAs as _};
use jira_auth_core::store::{create_private_dir, write_atomically};
use jira_auth_server::key;

pub const PRIVATE_FILE: &str = "jira_privatekey.pem";
pub const PUBLIC_FILE: &str = "jira_publickey.pem";

pub fn run(ctx: &Ctx, args: KeygenArgs) -> crate::exit::Result<u8> {
    // Not the current directory: that is often a git checkout, one `git add .` from publishing
    // the key. The config directory is private already, and per profile no two keys collide.
    let dir = match args.out {
        Some(dir) => dir,
        None => ctx.store.dir().join("keys").join(ctx.profile.as_str()),
    };
    let private_path = dir.join(PRIVATE_FILE);
    let public_path = dir.join(PUBLIC_FILE);
    if !args.force {
        for existing in [&private_path, &public_path] {
            if existing.exists() {
                return Err(crate::exit::Failure::usage(format!(
                    "`{}` already exists; choose another `--out` directory, or pass `--force` to replace it (anything signed with the old key stops working)",
                    existing.display()
                ))
                .into());
            }
        }
    }
    if !key::ALLOWED_BITS.contains(&args.bits) {
        return Err(key::KeyError::BadBits(args.bits).into());
    }
    ctx.narrator
        .say(format!("Generating a {}-bit RSA key pair…", args.bits));
    let generated = key::generate(args.bits)?;
    create_private_dir(&dir)?;
    write_atomically(
        &private_path,
        generated.private_pem.expose_secret().as_bytes(),
    )
    .context("cannot write the private key")?;
    write_atomically(&public_path, generated.public_pem.as_bytes())
        .context("cannot write the public key")?;
    #[cfg(unix)]
    {
        // The public half is meant to be shared.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&public_path, std::fs::Permissions::from_mode(0o644))
            .context_as(Category::Usage, "cannot make the public key readable")?;
    }
    let private_shown = std::path::absolute(&private_path).unwrap_or(private_path);
    let consumer_key = args
        .consumer_key
        .unwrap_or_else(|| format!("jira-auth-{}", ctx.profile));

    ctx.narrator.say(format!(
        "Wrote the private key to `{}` (PKCS#8 PEM, mode 0600: keep it secret)\nWrote the public key to `{}`",
        private_shown.display(),
        std::path::absolute(&public_path)
            .unwrap_or(public_path)
            .display()
    ));
    // What to paste into Jira is this command's data: stdout, even with `--quiet`.
    println!(
        "In Jira, as an administrator: Administration (cog) → Applications → Application links"
    );
    println!(
        "  1. Enter any URL for the application (e.g. `https://jira-auth.invalid`) and choose Create new link;"
    );
    println!("     continue past the \"No response was received\" warning");
    println!(
        "  2. Application Name: jira-auth; Application Type: Generic Application; tick \"Create incoming link\""
    );
    println!("  3. Incoming Authentication (paste exactly):");
    println!("       Consumer Key:  {consumer_key}");
    println!("       Consumer Name: jira-auth");
    println!(
        "       Public Key:    {}",
        key::public_key_for_jira(&generated.public_pem)
    );
    println!();
    println!("Then log in:");
    println!(
        "  jira-auth server login --url https://jira.example.com --consumer-key {consumer_key} --private-key {}",
        private_shown.display()
    );
    Ok(exit::OK)
}
