"""scikit-learn surrogates on per-particle discharge results, with SHAP explanations. Issue 6;
empty until it lands."""
