//! Engine counters, printed by `--stats` as text or JSON.

use std::fmt::Write;
use std::time::Duration;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub regions_translated: u64,
    pub guest_insns_translated: u64,
    pub ir_ops_lifted: u64,
    pub ir_ops_optimized: u64,
    pub regions_compiled: u64,
    pub compile_failures: u64,
    pub code_bytes: u64,
    pub decode_time: Duration,
    pub lift_time: Duration,
    pub optimize_time: Duration,
    pub compile_time: Duration,
    /// Region executions started by the dispatcher in the interpreter tier.
    pub interp_executions: u64,
    /// Entries into compiled code from the dispatcher.
    pub jit_entries: u64,
    /// Chain slots filled (direct exits linked to their target's code).
    pub chains_linked: u64,
    /// Direct exits taken through a chain slot, without the dispatcher.
    pub chain_hits: u64,
    /// Indirect exits that found their target in the lookup table, without the dispatcher.
    pub lookup_hits: u64,
    /// Indirect exits resolved by the dispatcher.
    pub lookup_misses: u64,
    /// Direct exits that returned to the dispatcher (not chained, or interpreted).
    pub direct_misses: u64,
    /// Guest instructions executed (only counted with `EngineConfig::count_insns`).
    pub guest_insns_executed: u64,
    /// Block-cache lookups by the dispatcher that found a region.
    pub cache_hits: u64,
    pub invalidations: u64,
    pub regions_invalidated: u64,
    /// Host faults in speculatively compiled regions, re-run in the interpreter.
    pub fault_replays: u64,
}

impl Stats {
    /// Add another thread's dispatch counters (those an engine keeps per thread).
    pub fn add_dispatch(&mut self, o: &Stats) {
        self.interp_executions += o.interp_executions;
        self.jit_entries += o.jit_entries;
        self.chain_hits += o.chain_hits;
        self.lookup_hits += o.lookup_hits;
        self.lookup_misses += o.lookup_misses;
        self.direct_misses += o.direct_misses;
        self.cache_hits += o.cache_hits;
        self.guest_insns_executed += o.guest_insns_executed;
        self.fault_replays += o.fault_replays;
    }

    /// Returns to the dispatcher: every region run it started (compiled or
    /// interpreted) ends with one.
    pub fn dispatcher_exits(&self) -> u64 {
        self.jit_entries + self.interp_executions
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl Stats {
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let per = |d: Duration, n: u64| if n == 0 { 0.0 } else { us(d) / n as f64 };
        let _ = writeln!(
            s,
            "regions translated      {:>10}  ({} guest insns, {} IR ops lifted, {} after passes)",
            self.regions_translated, self.guest_insns_translated, self.ir_ops_lifted, self.ir_ops_optimized
        );
        let _ = writeln!(
            s,
            "regions compiled        {:>10}  ({} failed, {} bytes of host code)",
            self.regions_compiled, self.compile_failures, self.code_bytes
        );
        let _ = writeln!(
            s,
            "decode                  {:>10.1} us  ({:.3} us/insn)",
            us(self.decode_time),
            per(self.decode_time, self.guest_insns_translated)
        );
        let _ = writeln!(
            s,
            "lift                    {:>10.1} us  ({:.3} us/insn)",
            us(self.lift_time),
            per(self.lift_time, self.guest_insns_translated)
        );
        let _ = writeln!(
            s,
            "optimise                {:>10.1} us  ({:.3} us/insn)",
            us(self.optimize_time),
            per(self.optimize_time, self.guest_insns_translated)
        );
        let _ = writeln!(
            s,
            "compile                 {:>10.1} us  ({:.1} us/region)",
            us(self.compile_time),
            per(self.compile_time, self.regions_compiled)
        );
        let _ = writeln!(s, "interpreter executions  {:>10}", self.interp_executions);
        let _ = writeln!(s, "compiled-code entries   {:>10}", self.jit_entries);
        let _ = writeln!(
            s,
            "chains linked           {:>10}  ({} chained exits taken)",
            self.chains_linked, self.chain_hits
        );
        let _ = writeln!(s, "indirect lookups        {:>10} hits {:>10} misses", self.lookup_hits, self.lookup_misses);
        let _ = writeln!(s, "unchained direct exits  {:>10}", self.direct_misses);
        if self.guest_insns_executed > 0 {
            let _ = writeln!(s, "guest insns executed    {:>10}", self.guest_insns_executed);
        }
        let _ = writeln!(s, "block cache hits        {:>10}", self.cache_hits);
        if self.fault_replays > 0 {
            let _ = writeln!(s, "fault replays           {:>10}", self.fault_replays);
        }
        let _ = writeln!(
            s,
            "invalidations           {:>10}  ({} regions dropped)",
            self.invalidations, self.regions_invalidated
        );
        s
    }

    /// JSON with a fixed, versioned set of keys (times in microseconds).
    pub fn to_json(&self) -> String {
        let fields: Vec<(&str, String)> = vec![
            ("schema", "\"mimic-stats/2\"".into()),
            ("regions_translated", self.regions_translated.to_string()),
            ("guest_insns_translated", self.guest_insns_translated.to_string()),
            ("ir_ops_lifted", self.ir_ops_lifted.to_string()),
            ("ir_ops_optimized", self.ir_ops_optimized.to_string()),
            ("regions_compiled", self.regions_compiled.to_string()),
            ("compile_failures", self.compile_failures.to_string()),
            ("code_bytes", self.code_bytes.to_string()),
            ("decode_us", format!("{:.3}", us(self.decode_time))),
            ("lift_us", format!("{:.3}", us(self.lift_time))),
            ("optimize_us", format!("{:.3}", us(self.optimize_time))),
            ("compile_us", format!("{:.3}", us(self.compile_time))),
            ("interp_executions", self.interp_executions.to_string()),
            ("jit_entries", self.jit_entries.to_string()),
            ("chains_linked", self.chains_linked.to_string()),
            ("chain_hits", self.chain_hits.to_string()),
            ("lookup_hits", self.lookup_hits.to_string()),
            ("lookup_misses", self.lookup_misses.to_string()),
            ("direct_misses", self.direct_misses.to_string()),
            ("guest_insns_executed", self.guest_insns_executed.to_string()),
            ("cache_hits", self.cache_hits.to_string()),
            ("invalidations", self.invalidations.to_string()),
            ("regions_invalidated", self.regions_invalidated.to_string()),
        ];
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("  \"{k}\": {v}")).collect();
        format!("{{\n{}\n}}\n", body.join(",\n"))
    }
}
