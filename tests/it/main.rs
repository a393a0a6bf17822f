//! The integration tests, one binary: each module is the former `tests/<name>.rs`. One binary links
//! the library once instead of 24 times, which is most of what a fresh `cargo test` used to cost.

mod attention_findings;
mod bad_inputs;
mod catalogue;
mod cli_exit_codes;
mod cli_gates;
mod determinism;
mod diagnose_rules;
mod fuzz_seeds;
mod gpt_dead_units;
mod gpt_nan_origin;
mod gpt_sharpness;
mod gradient_checks;
mod interrupt_safety;
mod layering;
mod lr_groups;
mod lr_sensitivity;
mod mean_field_depth;
mod msrv;
mod nan_origin;
mod no_alloc_in_step;
mod pr_summary;
mod probe_values;
mod report_browser;
mod report_render;
mod resource_limits;
mod robust;
mod shards_and_sweeps;
mod sharpness;
mod sweep_theory;
mod torch_crosscheck;
mod transformer_findings;
mod transformer_rules;
mod trust;
mod verified_repairs;
mod weights_npz;
