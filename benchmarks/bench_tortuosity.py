"""Tortuosity of a 200^3 image: electrode3d's voxel solver vs PoreSpy's tortuosity_fd.

Prints both tau values, wall times and the speed ratio. PoreSpy stops when its inlet/outlet flux
mismatch is below 1e-3; we run once at our default tolerance and once at a tolerance that gives
a comparable flux mismatch (equal accuracy).

    .venv/bin/python benchmarks/bench_tortuosity.py [N]
"""

import sys
import time

from mesostructure import solve_transport


def main(n: int = 200) -> None:
    try:  # OpenPNM probes petsc4py; the dolfinx wheel's petsc4py needs its MPI loaded first
        import dolfinx_solver  # noqa: F401
    except ImportError:
        pass
    import porespy as ps

    im = ps.generators.blobs(shape=[n, n, n], porosity=0.4, blobiness=1.0, seed=7)
    print(f"image {n}^3, porosity {im.mean():.3f}")
    t = time.perf_counter()
    ref = ps.simulations.tortuosity_fd(im, axis=2)
    t_ps = time.perf_counter() - t
    print(f"PoreSpy tortuosity_fd: tau = {ref.tortuosity:.5f}  ({t_ps:.1f} s)")
    for rtol in (1e-7, 1e-4):
        t = time.perf_counter()
        res = solve_transport(im.astype(float), 1.0, 2, rtol=rtol)
        t_us = time.perf_counter() - t
        tau = res.percolating_fraction / res.d_eff
        print(f"electrode3d rtol {rtol:.0e}: tau = {tau:.5f} (diff {tau / ref.tortuosity - 1:+.2%}"
              f", flux mismatch {res.flux_imbalance:.1e}, {res.iterations} CG its)  "
              f"({t_us:.1f} s)  speed-up x{t_ps / t_us:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
