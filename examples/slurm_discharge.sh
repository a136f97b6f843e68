#!/bin/bash
# A SLURM batch job for one configuration (adapt partition/account/modules to your cluster).
# Submit: sbatch examples/slurm_discharge.sh examples/configs/paper004_monolayer_1C.toml out/
#SBATCH --job-name=electrode3d
#SBATCH --nodes=1
#SBATCH --ntasks=16
#SBATCH --mem=64G
#SBATCH --time=04:00:00
#SBATCH --output=%x-%j.log
set -euo pipefail
CONFIG=${1:?config TOML}
OUT=${2:?output folder}
# the venv made by the README's set-up command; MPICH comes with the dolfinx wheel
source .venv/bin/activate
# one rank per core, no hidden threading inside each rank
export OMP_NUM_THREADS=1
srun --mpi=pmi2 electrode3d -v run "$CONFIG" -o "$OUT"
# or the API script: srun python examples/discharge_mpi.py recipe.toml "$OUT"
