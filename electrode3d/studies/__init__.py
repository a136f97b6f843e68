"""Design studies: sweeps of the chain (rate capability of mono- and bi-layer electrodes,
process -> property maps)."""
