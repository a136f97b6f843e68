"""scikit-learn surrogates on per-particle discharge results, with SHAP explanations (issue 6,
paper 004): ``dataset`` (rows from run folders), ``models`` (RF / gradient boosting, grouped CV,
save/load), ``explain`` (tree SHAP plots). See docs/surrogates.md."""
