"""Every figure of the project, rebuilt by ``python -m figures``.

Each figure is a module of this package with

- ``CONFIG`` and ``QUICK`` (dicts): the parameters of the full and of the ``--quick`` build;
- ``compute(config) -> dict``: runs the simulations and theory and returns the numbers behind
  the figure (arrays and JSON-able values), which the runner writes next to the image as
  ``NAME.npz`` (arrays) and ``NAME.json`` (everything else);
- ``plot(data, path)``: draws the PNG from those numbers only.

Images are stable from run to run on one machine: fixed seeds and no timestamps in metadata.
"""
FIGURES = ("stationary_quadratic", "stationary_linreg", "valley_density", "valley_sgd_loss",
           "valley_relaxation", "noise_bound_phase", "product_network", "edge_of_stability_gd",
           "edge_of_stability_tanh",
           "edge_of_stochastic_stability", "sharpest_directions", "nudged_sgd",
           "fdr_relations", "noise_scale_schedules", "large_batch_gap", "temperature_noise_scale",
           "fdr_adaptive_schedule",
           "sweep_phase_diagram", "sweep_sharpness", "underdamped_langevin",
           "probability_current", "mfpt_kramers", "adaptive_edge_of_stability",
           "hessian_spectrum", "catapult_phase", "kramers_escape", "weak_order",
           "digits_edge_of_stability", "digits_edge_of_stochastic_stability",
           "digits_sharpness_vs_noise", "digits_fdr",
           "digits_noise_scale", "label_noise_drift", "escape_sgd_vs_langevin")
