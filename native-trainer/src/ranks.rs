//! The processes one training run is spread over, data parallel: this process alone, or the
//! ranks of an MPI job (`mpirun -n N`, `srun`; the cargo feature `mpi`). Every rank makes its
//! share of each batch, the gradients are summed across the ranks every step, and so every
//! rank holds the same weights, masks and pruning decisions; rank 0 alone writes the run
//! folder. MPI works with every burn backend, at the cost of one copy of the gradients to the
//! host each step.

use std::ops::Range;

use anyhow::{bail, Result};

/// The ranks of this run and this process's place among them.
pub struct Ranks {
    rank: usize,
    size: usize,
    /// Ranks on this machine, and this one's index among them (its GPU, where there are GPUs).
    local_rank: usize,
    local_size: usize,
    #[cfg(feature = "mpi")]
    mpi: Option<mpi_world::World>,
}

/// The launchers' variables that give a process's place: Open MPI's, then the PMI ones that
/// MPICH and Slurm's srun set.
const SIZE_VARS: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"];

impl Ranks {
    /// This process alone.
    pub fn one() -> Self {
        Ranks {
            rank: 0,
            size: 1,
            local_rank: 0,
            local_size: 1,
            #[cfg(feature = "mpi")]
            mpi: None,
        }
    }

    /// The ranks this process was started among: the MPI job's where a launcher started it
    /// with more than one, else this process alone. A build without MPI refuses to run as one
    /// of several ranks, which would train copies of one run into the same folder.
    pub fn from_launcher() -> Result<Self> {
        let launched = SIZE_VARS
            .iter()
            .find_map(|v| std::env::var(v).ok()?.parse::<usize>().ok())
            .unwrap_or(1);
        if launched <= 1 {
            return Ok(Self::one());
        }
        #[cfg(feature = "mpi")]
        {
            mpi_world::World::start()
        }
        #[cfg(not(feature = "mpi"))]
        bail!(
            "started as one of {launched} MPI ranks, but this build has no MPI; rebuild with `cargo build --release -p native-trainer --features mpi`"
        )
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this process writes the run folder (rank 0).
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// This rank's index among the ranks on its machine: the GPU it trains on.
    pub fn local_rank(&self) -> usize {
        self.local_rank
    }

    /// Ranks on this machine, which share its cores.
    pub fn local_size(&self) -> usize {
        self.local_size
    }

    /// The crops of a batch of `n` this rank makes and trains on: whole crops, as even as
    /// they divide (the first `n % size` ranks take one more).
    pub fn share(&self, n: usize) -> Range<usize> {
        let (base, extra) = (n / self.size, n % self.size);
        let start = self.rank * base + self.rank.min(extra);
        start..start + base + usize::from(self.rank < extra)
    }

    /// Sums `values` element by element over the ranks, in place: every rank gets the same
    /// sums (MPI_Allreduce).
    pub fn sum(&self, values: &mut [f32]) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.sum(values);
        }
        #[cfg(not(feature = "mpi"))]
        let _ = values;
    }

    /// Whether `flag` is set on any rank (an interrupt, say), so that all act on it together.
    pub fn any(&self, flag: bool) -> bool {
        if self.size == 1 {
            return flag;
        }
        let mut v = [f32::from(u8::from(flag))];
        self.sum(&mut v);
        v[0] > 0.0
    }

    /// Checks that every rank computed the same `checksum` of `what` (its weights and masks,
    /// say): ranks that drifted apart fail the run rather than train on.
    pub fn check_same(&self, what: &str, checksum: u32) -> Result<()> {
        if self.size == 1 {
            return Ok(());
        }
        // Each rank adds its checksum into its own slot: every slot must hold rank 0's.
        let mut all = vec![0f32; 2 * self.size];
        all[2 * self.rank] = (checksum >> 16) as f32;
        all[2 * self.rank + 1] = (checksum & 0xffff) as f32;
        self.sum(&mut all);
        let of = |r: usize| ((all[2 * r] as u32) << 16) | all[2 * r + 1] as u32;
        let differ: Vec<String> = (1..self.size)
            .filter(|&r| of(r) != of(0))
            .map(|r| format!("rank {r} has crc32 {:08x}", of(r)))
            .collect();
        if !differ.is_empty() {
            bail!(
                "the ranks' {what} differ (rank 0 has crc32 {:08x}; {}): the run cannot go on",
                of(0),
                differ.join(", ")
            );
        }
        Ok(())
    }

    /// Waits until every rank gets here (rank 0 has written what the others read next).
    pub fn barrier(&self) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.barrier();
        }
    }
}

#[cfg(feature = "mpi")]
mod mpi_world {
    use anyhow::{Context, Result};
    use mpi::collective::SystemOperation;
    use mpi::environment::Universe;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::{Communicator, CommunicatorCollectives};

    use super::Ranks;

    /// MPI, started once for the process (a run and its control share it); finalized when
    /// dropped.
    pub struct World {
        _universe: Universe,
        world: SimpleCommunicator,
    }

    impl World {
        pub fn start() -> Result<Ranks> {
            let universe = mpi::initialize().context("MPI does not start (MPI_Init failed)")?;
            let world = universe.world();
            let local = world.split_shared(world.rank());
            let ranks = Ranks {
                rank: world.rank() as usize,
                size: world.size() as usize,
                local_rank: local.rank() as usize,
                local_size: local.size() as usize,
                mpi: None,
            };
            Ok(Ranks {
                mpi: Some(World {
                    _universe: universe,
                    world,
                }),
                ..ranks
            })
        }

        pub fn sum(&self, values: &mut [f32]) {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, SystemOperation::sum());
        }

        pub fn barrier(&self) {
            self.world.barrier();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_a_batch_once_and_evenly() {
        for (n, size) in [(8, 1), (8, 2), (8, 3), (5, 4), (2, 3)] {
            let shares: Vec<Range<usize>> = (0..size)
                .map(|rank| {
                    Ranks {
                        rank,
                        size,
                        ..Ranks::one()
                    }
                    .share(n)
                })
                .collect();
            assert_eq!(shares[0].start, 0);
            assert_eq!(shares[size - 1].end, n);
            for pair in shares.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                assert!(pair[0].len() >= pair[1].len() && pair[0].len() <= pair[1].len() + 1);
            }
        }
    }

    #[test]
    fn one_process_is_its_own_world() {
        let one = Ranks::one();
        assert!(one.is_root());
        assert_eq!(one.share(8), 0..8);
        assert!(one.any(true) && !one.any(false));
        one.check_same("weights", 0xdead_beef).unwrap();
    }
}
