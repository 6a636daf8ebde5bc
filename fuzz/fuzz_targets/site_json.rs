#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jira_auth_fuzz_targets::site_json(data));
