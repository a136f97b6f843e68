"""The pore-resolved 3D Newman half-cell model in FEniCSx (shared/spec/newman3d.md). Issue 4;
empty until it lands."""
