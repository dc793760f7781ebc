//! The one wasmtime `Engine` of a host: component model, async, epoch
//! interruption, the pooling allocator when the address space allows it, and a
//! ticker thread that advances the epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Bytes of a pooled linear memory kept mapped between calls. A Rust plugin's
/// stack (1 MiB by default) sits below its data and heap, so the pages a call
/// dirties lie within the first few MiB.
const KEEP_RESIDENT: usize = 2 << 20;

/// How instances get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocatorKind {
    /// Slots reserved up front and reused: the fast path.
    Pooling,
    /// Memory mapped per instance: used where the pool cannot be reserved.
    OnDemand,
}

/// Engine settings taken from the runtime configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Component instances the pool holds; calls beyond it wait or are refused.
    pub pool_instances: u32,
    /// Largest linear memory of one call.
    pub memory_limit: usize,
    /// Try the pooling allocator first (falls back to on-demand if it fails).
    pub prefer_pooling: bool,
    pub epoch_tick: Duration,
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20)
        .memory_init_cow(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    config
}

fn pooling(cfg: &EngineConfig) -> PoolingAllocationConfig {
    // A Rust wasm32-wasip2 component holds a few core instances (the program
    // and wit-component's shims), one memory and a few tables.
    let n = cfg.pool_instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        .total_stacks(n)
        .max_core_instances_per_component(16)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_memory_size(cfg.memory_limit)
        .table_elements(20_000)
        // Reset what a call dirtied by copying the image back instead of
        // madvise: that syscall (and its TLB shootdown) plus the page faults
        // that follow cost more than the whole rest of a call. PAGEMAP_SCAN
        // (Linux 6.7+) finds the dirty pages so only those are reset.
        .pagemap_scan(Enabled::Auto)
        // What must still be decommitted is done 16 slots at a time: one
        // madvise batch instead of a syscall and TLB shootdown per call.
        .decommit_batch_size(16)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 * 1024);
    pool
}

/// Builds the engine: pooling if preferred and possible, else on-demand.
pub fn build(cfg: &EngineConfig) -> wasmtime::Result<(Engine, AllocatorKind)> {
    if cfg.prefer_pooling {
        let mut config = base_config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(cfg)));
        match Engine::new(&config) {
            Ok(engine) => return Ok((engine, AllocatorKind::Pooling)),
            Err(e) => tracing::warn!(
                error = %e,
                "the pooling allocator could not reserve its address space; \
                 falling back to on-demand allocation"
            ),
        }
    }
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    Ok((Engine::new(&config)?, AllocatorKind::OnDemand))
}

/// Advances the engine's epoch every tick until dropped. Guests check the epoch
/// at loop heads and function entries, so a spinning guest notices its
/// deadline within a tick or two.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("vetpay-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .expect("the epoch thread starts");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
