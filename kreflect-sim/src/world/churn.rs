//! Filling the cluster, and a steady stream of adds, updates and deletes.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use super::state::World;

/// The churn task's tick; operations owed by the rate are done in a batch each tick.
const TICK: Duration = Duration::from_millis(10);

/// How `run_churn` changes the cluster.
#[derive(Debug, Clone)]
pub struct ChurnOptions {
    /// Changes per second (all kinds together).
    pub events_per_second: f64,
    /// Seed for the choice of operations and pods: the same seed gives the same sequence.
    pub seed: u64,
    /// Namespaces to change; empty means `default`.
    pub namespaces: Vec<String>,
}

impl Default for ChurnOptions {
    fn default() -> ChurnOptions {
        ChurnOptions {
            events_per_second: 100.0,
            seed: 1,
            namespaces: vec!["default".to_owned()],
        }
    }
}

/// Creates `pods_per_namespace` realistic pods named `pod-00000`, `pod-00001`, … in each
/// namespace.
pub fn populate(world: &World, namespaces: &[String], pods_per_namespace: usize) {
    for namespace in namespaces {
        for i in 0..pods_per_namespace {
            world.create_pod(namespace, &format!("pod-{i:05}"));
        }
    }
}

/// Steady adds/updates/deletes (about 60% updates, 20% adds, 20% deletes, so the population
/// stays roughly stable) at `options.events_per_second` until `cancel` fires.
pub async fn run_churn(world: World, options: ChurnOptions, cancel: CancellationToken) {
    let namespaces = if options.namespaces.is_empty() {
        vec!["default".to_owned()]
    } else {
        options.namespaces.clone()
    };
    let mut churn = Churn {
        population: world
            .keys()
            .into_iter()
            .filter_map(|key| {
                let (namespace, name) = key.split_once('/')?;
                namespaces
                    .iter()
                    .any(|ns| ns == namespace)
                    .then(|| (namespace.to_owned(), name.to_owned()))
            })
            .collect(),
        rng: StdRng::seed_from_u64(options.seed),
        namespaces,
        created: 0,
        seed: options.seed,
    };
    let rate = options.events_per_second.max(0.0);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    let mut owed = 0.0_f64;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let now = tokio::time::Instant::now();
        owed += rate * now.duration_since(last).as_secs_f64();
        last = now;
        while owed >= 1.0 {
            owed -= 1.0;
            churn.step(&world);
        }
    }
    tracing::debug!(pods = churn.population.len(), "churn stopped");
}

struct Churn {
    /// The pods this task believes exist (in its namespaces).
    population: Vec<(String, String)>,
    rng: StdRng,
    namespaces: Vec<String>,
    created: u64,
    seed: u64,
}

impl Churn {
    /// One change.
    fn step(&mut self, world: &World) {
        let roll: f64 = self.rng.random();
        if self.population.is_empty() || roll < 0.2 {
            let namespace =
                self.namespaces[self.rng.random_range(0..self.namespaces.len())].clone();
            let name = format!("churn-{}-{:06}", self.seed, self.created);
            self.created += 1;
            world.create_pod(&namespace, &name);
            self.population.push((namespace, name));
        } else if roll < 0.4 {
            let index = self.rng.random_range(0..self.population.len());
            let (namespace, name) = self.population.swap_remove(index);
            world.delete_pod(&namespace, &name);
        } else {
            let index = self.rng.random_range(0..self.population.len());
            let (namespace, name) = &self.population[index];
            if world.update_pod(namespace, name).is_none() {
                // Deleted by someone else: forget it.
                self.population.swap_remove(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn churn_keeps_the_population_roughly_stable() {
        let world = World::new(100_000);
        let namespaces = vec!["a".to_owned(), "b".to_owned()];
        populate(&world, &namespaces, 50);
        assert_eq!(world.len(), 100);
        let start = world.resource_version();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run_churn(
            world.clone(),
            ChurnOptions {
                events_per_second: 1000.0,
                seed: 7,
                namespaces: namespaces.clone(),
            },
            cancel.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
        cancel.cancel();
        task.await.unwrap();
        let changes = world.resource_version() - start;
        assert!((1500..=2500).contains(&changes), "{changes} changes");
        assert!((40..=160).contains(&world.len()), "{} pods", world.len());
    }
}
