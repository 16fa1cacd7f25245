"""Our default CVAE-GAN: the paper's method with the changes that measured better, built to
learn timing (timing conditions, a time-axis latent, the timing decoder, phase-blind
reconstruction, a multi-scale critic; docs/experiments.md, "a design that learns timing").

  python -m cvaegan_jax.main --config=configs/base.py --workdir=workdirs/base
Prepares the simulated 600-event set if missing, then trains 20k steps at batch 128 (hours on
one GPU; 26 s a step on the 2-core CPU of benchmarks/README.md). Comments give the paper's
value where it differs.
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.data = ml_collections.ConfigDict()
  config.data.builder_config = "simulated"  # knet_spectra config: "simulated" or "knet".
  config.data.num_events = 600  # Simulated events (builder_config simulated).
  config.data.seed = 0  # Simulation and split seed.
  config.data.manual_dir = ""  # K-NET/KiK-net files or archives (builder_config knet).
  config.data.data_dir = "data"  # Where the TFDS shards are (prepared if missing).
  config.data.num_periods = 100  # Spectral ordinates of the condition, log-spaced (paper: 200).
  config.data.t_min_s = 0.01  # Shortest period, s.
  config.data.t_max_s = 10.0  # Longest period, s.
  config.data.num_samples = 3000  # Window length in samples (30 s at 100 Hz).
  config.data.sampling_rate_hz = 100.0  # Window sampling rate, Hz.
  config.data.damping = 0.05  # Damping ratio of the condition spectra.
  config.data.pairs = False  # Train on pairs: EW+NS of one sensor as two channels, conditioned on the pair's spectrum.
  config.data.pair_spectrum = "rotd50"  # Pairs: the condition's spectrum, rotd50 (median direction) or rotd100 (maximum).

  config.model = ml_collections.ConfigDict()
  config.model.latent_dim = 8  # Latent channels per frame with time_latent (paper: a vector of 100).
  config.model.encoder_features = (64, 128, 256)  # Encoder Conv1D channels, as the paper.
  config.model.encoder_kernel = 10  # As the paper.
  config.model.encoder_stride = 2  # As the paper.
  config.model.decoder_base_features = 256  # Dense(375 * 256) then reshape, as the paper.
  config.model.decoder_features = (128, 64, 32)  # Upsampling blocks' channels, as the paper.
  config.model.decoder_kernel = 3  # As the paper.
  config.model.decoder_upsample = "lowpass"  # Each x2 of the decoder: "lowpass" (no spectral lines) or "repeat" (paper).
  config.model.critic_features = (32, 64, 128, 256)  # Critic Conv1D channels, as the paper.
  config.model.critic_kernel = 5  # As the paper.
  config.model.critic_stride = 2  # As the paper.
  config.model.decoder_output = "linear"  # "linear" or "tanh" (paper; peak-normalised data).
  config.model.decoder_zero_mean = True  # Subtract the output's time average (paper: no).
  config.model.decoder_peak_normalize = True  # Divide the output by its own peak (paper: no).
  config.model.decoder_film = True  # Condition scales and shifts every decoder block (paper: no).
  config.model.waveform_scale = "psa0"  # Records / PSA(0.01 s) ("peak": / PGA, the paper).
  config.model.condition = "log_standardized"  # (log10 PSA - mean) / std ("peak_normalized": paper).
  config.model.timing_conditions = ("t5", "d5_75", "d5_95")  # Timing measures beside the spectrum (paper: none).
  config.model.time_latent = True  # Latent with a time axis: latent_dim channels per frame (paper: a vector).
  config.model.critic = "multiscale"  # "multiscale": raw, x2 and x4 pooled, a score per position ("paper").
  config.model.critic_scales = (1, 2, 4)  # Average-pooling factors of the multi-scale critic.

  config.training = ml_collections.ConfigDict()
  config.training.seed = 0  # Parameter initialisation, data order and noise.
  config.training.batch_size = 128  # Global batch, split over devices (paper: 128).
  config.training.num_steps = 20000  # Generator steps.
  config.training.n_critic = 1  # Critic updates per generator update (paper: 2).
  config.training.gan_loss = "lsgan"  # "lsgan" (least squares, no penalty) or "wgan-gp" (paper).
  config.training.gp_weight = 10.0  # WGAN-GP lambda (paper: 10).
  config.training.rec_weight = 0.0  # Reconstruction MSE weight (paper: 5).
  config.training.stft_weight = 1.0  # Multi-resolution STFT magnitude loss of reconstructions (paper: none).
  config.training.envelope_weight = 1.0  # Log-envelope L1 of reconstructions and prior samples (paper: none).
  config.training.onset_weight = 5.0  # S-onset jump L1 of reconstructions and prior samples (paper: none).
  config.training.timing_weight = 10.0  # Generated t5/D5-75/D5-95 vs their conditions (paper: none).
  config.training.feature_matching_weight = 2.0  # Critic feature matching of reconstructions (paper: none).
  config.training.kl_weight = 0.5  # KL weight (paper: 0.5).
  config.training.adv_weight = 1.0  # Adversarial weight (paper: 0.1).
  config.training.spec_weight = 30.0  # Log-spectral misfit weight (paper: none).
  config.training.spec_on_prior = True  # Spectral terms on prior samples too (paper: no).
  config.training.criterion_weight = 10.0  # log1p of the paper's criterion score (paper: none).
  config.training.decorrelation_weight = 10.0  # Two prior samples of one target differ, and a pair's two components (paper: none).
  config.training.amplitude_augment = 0.0  # Largest log-uniform amplitude factor (0: off; weak targets: 3).
  config.training.adv_on_prior = True  # The critic also scores prior samples (paper: no).
  config.training.ema_decay = 0.999  # EMA of generator weights used for sampling (paper: none).
  config.training.log_every = 50  # Console, JSONL and TensorBoard every N steps.
  config.training.eval_every = 1000  # Validation metrics every N steps.
  config.training.eval_examples = 512  # Validation examples per evaluation.
  config.training.figure_every = 1000  # Real-vs-generated figure every N steps.
  config.training.checkpoint_every = 1000  # Orbax checkpoint every N steps.
  config.training.keep_checkpoints = 3  # Checkpoints kept.

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.gen_lr = 1e-4  # Generator Adam learning rate (paper: 1e-4).
  config.optimizer.critic_lr = 1e-4  # Critic Adam learning rate (paper: 1e-4).
  config.optimizer.b1 = 0.0  # Adam beta1 (paper: 0.0).
  config.optimizer.b2 = 0.9  # Adam beta2 (paper: 0.9).
  config.optimizer.grad_clip = 10.0  # Global-norm clip; 0 disables (paper: none).

  config.evaluate = ml_collections.ConfigDict()
  config.evaluate.splits = ("test", "ood_low", "ood_high")  # The paper's test set and out-of-range magnitudes.
  config.evaluate.max_examples = 256  # Records per split, evenly spaced through it.
  config.evaluate.samples_per_target = 4  # Generated records per conditioning spectrum.
  config.evaluate.refine = "waveform"  # Also score refined samples: scale, latent, waveform, both, none.
  config.evaluate.temperature = 1.0  # Prior temperature of the evaluated samples.
  config.evaluate.candidates = 8  # Also score raw records kept as the best of this many latents (1: not).
  config.evaluate.latent_steps = 20  # And those records' latents searched this many Adam steps (refine=latent; 0: not).
  config.evaluate.band_min_s = 0.05  # Band of the misfit summaries: shortest period, s.
  config.evaluate.band_max_s = 4.0  # Longest period of that band, s.
  config.evaluate.chunk = 128  # Records generated per call (memory: chunk x periods x samples).
  config.evaluate.num_figures = 4  # Example panels per split.
  config.evaluate.seed = 0  # Latent samples' seed.

  config.generate = ml_collections.ConfigDict()
  config.generate.target = "ec8:type=1,ground=B,ag=0.3g"  # Target spec (cvaegan_jax/specs.py).
  config.generate.num = 11  # Records in the suite (ASCE 7 asks for 11).
  config.generate.seed = 0  # Latent samples' seed.
  config.generate.refine = "waveform"  # none, scale, latent, waveform or both.
  config.generate.components = 1  # 1: single records; 2: pairs of horizontal components (H1, H2).
  config.generate.rotd = 100.0  # Pairs: the target is this RotDnn (100: maximum direction, ASCE 7; 50: median).
  config.generate.pairs_target = ""  # Also generate a suite of pairs for this target into OUT_DIR/pairs ("": none).
  config.generate.temperature = 1.0  # z = temperature * N(0, I); below 1: closer fit, more alike.
  config.generate.candidates = 8  # Latents decoded per record; the best-fitting raw one is kept (1: the first).
  config.generate.tol = 0.02  # Largest |misfit| per record the refinement aims for.
  config.generate.waveform_steps = 20  # Time-domain matching steps; 40+ for jagged (recorded) targets.
  config.generate.smoothing = 0.1  # First passes' gain smoothing (ln f); 0: tol more often on recorded targets, with spectral lines.
  config.generate.formats = ("at2", "csv", "npz", "mseed")  # Export formats (also sac).
  config.generate.out_dir = ""  # Default: WORKDIR/generated.
  config.generate.allow_extrapolation = False  # Extrapolate targets short of the model's periods.
  config.generate.check = "auto"  # Suite rule: auto (the target's code), ec8, asce7-16, asce7-22, "".
  config.generate.t1_s = 1.0  # Fundamental period for the compliance check, s.
  config.generate.t5_s = 0.0  # Asked onset t5, s (0: drawn from training records of similar spectra).
  config.generate.d5_75_s = 0.0  # Asked D5-75, s (0: drawn, or from the scenario).
  config.generate.d5_95_s = 0.0  # Asked D5-95, s (0: drawn, or from the scenario).
  config.generate.magnitude = 0.0  # Scenario Mw for AS16 durations (0: no scenario).
  config.generate.distance_km = 0.0  # Scenario rupture distance, km.
  config.generate.vs30_ms = 400.0  # Scenario Vs30, m/s.
  return config
