"""Response spectra against closed forms, independent references and autodiff checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

from cvaegan_jax import spectra

REF_PERIODS = spectra.log_periods(0.01, 10.0, 60)


# --- Independent float64 references, written here from the textbook ---------


def chopra_recursion(accel, dt, periods, damping):
  """Peak |u| from the closed-form piecewise-exact coefficients of Chopra,
  Dynamics of Structures, Table 5.2.1 (m = 1, k = w^2, p = -a): a derivation
  independent of the matrix exponential used by the library."""
  w = 2 * np.pi / np.asarray(periods, np.float64)
  z = damping
  wd = w * np.sqrt(1 - z * z)
  e = np.exp(-z * w * dt)
  s, c = np.sin(wd * dt), np.cos(wd * dt)
  r = z / np.sqrt(1 - z * z)
  k = w * w
  A = e * (r * s + c)
  B = e * s / wd
  C = (2 * z / (w * dt) + e * (((1 - 2 * z * z) / (wd * dt) - r) * s - (1 + 2 * z / (w * dt)) * c)) / k
  D = (1 - 2 * z / (w * dt) + e * ((2 * z * z - 1) / (wd * dt) * s + 2 * z / (w * dt) * c)) / k
  A1 = -e * w / np.sqrt(1 - z * z) * s
  B1 = e * (c - r * s)
  C1 = (-1 / dt + e * ((w / np.sqrt(1 - z * z) + z / (dt * np.sqrt(1 - z * z))) * s + c / dt)) / k
  D1 = (1 - e * (r * s + c)) / (k * dt)
  p = -np.asarray(accel, np.float64)
  u = np.zeros_like(w)
  v = np.zeros_like(w)
  peak = np.zeros_like(w)
  for i in range(p.size - 1):
    u, v = A * u + B * v + C * p[i] + D * p[i + 1], A1 * u + B1 * v + C1 * p[i] + D1 * p[i + 1]
    peak = np.maximum(peak, np.abs(u))
  return peak


def lsim_peak(accel, dt, period, damping):
  """Peak |u| by scipy.signal.lsim with first-order hold (exact for linear ramps)."""
  w = 2 * np.pi / period
  sys = scipy.signal.StateSpace([[0, 1], [-w * w, -2 * damping * w]], [[0], [-1]], [[1, 0]], [[0]])
  t = np.arange(accel.size) * dt
  _, u, _ = scipy.signal.lsim(sys, np.asarray(accel, np.float64), t, interp=True)
  return np.max(np.abs(u))


def step_response(t, w, z, a0):
  """Closed-form u(t) of an oscillator at rest under a ground-acceleration step a0."""
  wd = w * np.sqrt(1 - z * z)
  return -(a0 / w**2) * (1 - np.exp(-z * w * t) * (np.cos(wd * t) + z / np.sqrt(1 - z * z) * np.sin(wd * t)))


def harmonic_response(t, w, z, amp, big_w):
  """Closed-form u(t) from rest under a(t) = amp sin(big_w t) (transient included)."""
  det = (w**2 - big_w**2) ** 2 + (2 * z * w * big_w) ** 2
  cs = -amp * (w**2 - big_w**2) / det
  cc = amp * 2 * z * w * big_w / det
  wd = w * np.sqrt(1 - z * z)
  e0 = -cc
  f0 = (z * w * e0 - cs * big_w) / wd
  return cs * np.sin(big_w * t) + cc * np.cos(big_w * t) + np.exp(-z * w * t) * (e0 * np.cos(wd * t) + f0 * np.sin(wd * t))


def demeaned(rec):
  return rec.accel_ms2 - rec.accel_ms2.mean()


# --- Closed forms -------------------------------------------------------------


@pytest.mark.parametrize("damping", [0.0, 0.05, 0.2])
def test_step_response_matches_closed_form(damping):
  dt, n, a0 = 0.01, 2001, 1.5
  periods = np.array([0.05, 0.3, 1.0, 4.0])
  accel = np.full(n, a0)
  t = np.arange(n) * dt
  with jax.enable_x64(True):
    resp = spectra.sdof_response(accel, dt, periods, damping)
    sd = spectra.spectral_displacement(accel, dt, periods, damping)
  for i, per in enumerate(periods):
    exact = step_response(t, 2 * np.pi / per, damping, a0)
    scale = a0 / (2 * np.pi / per) ** 2
    np.testing.assert_allclose(np.asarray(resp.disp[i]), exact, rtol=0, atol=1e-11 * scale)
    np.testing.assert_allclose(float(sd[i]), np.max(np.abs(exact)), rtol=1e-11)
    # Absolute acceleration u'' + a follows from the equation of motion.
    w = 2 * np.pi / per
    np.testing.assert_allclose(np.asarray(resp.abs_accel[i]), -(2 * damping * w * np.asarray(resp.vel[i]) + w * w * exact),
                               atol=1e-9 * a0)


@pytest.mark.parametrize("damping", [0.0, 0.05])
def test_harmonic_response_matches_closed_form(damping):
  # Linear interpolation of a sine is exact to O((W dt)^2 / 12) ~ 1e-6 here.
  big_w = 2 * np.pi / 0.7
  dt = 0.7 / 2000
  t = np.arange(12000) * dt
  accel = 2.0 * np.sin(big_w * t)
  periods = np.array([0.2, 0.65, 1.5])
  with jax.enable_x64(True):
    resp = spectra.sdof_response(accel, dt, periods, damping)
    psa = spectra.response_spectrum(accel, dt, periods, damping)
  for i, per in enumerate(periods):
    w = 2 * np.pi / per
    exact = harmonic_response(t, w, damping, 2.0, big_w)
    peak = np.max(np.abs(exact))
    np.testing.assert_allclose(np.asarray(resp.disp[i]), exact, atol=5e-6 * peak)
    np.testing.assert_allclose(float(psa[i]), w * w * peak, rtol=5e-6)


# --- Independent references on real records -----------------------------------


@pytest.mark.parametrize("which", ["knet_record", "kiknet_record"])
def test_float64_matches_textbook_recursion_on_real_records(which, request):
  rec = request.getfixturevalue(which)
  a = demeaned(rec)
  ref = chopra_recursion(a, rec.dt, REF_PERIODS, 0.05)
  with jax.enable_x64(True):
    sd = np.asarray(spectra.spectral_displacement(a, rec.dt, REF_PERIODS, 0.05))
  np.testing.assert_allclose(sd, ref, rtol=1e-9)


@pytest.mark.parametrize("which", ["knet_record", "kiknet_record"])
def test_float32_matches_float64_reference_within_1e4(which, request):
  rec = request.getfixturevalue(which)
  a = demeaned(rec)
  ref = chopra_recursion(a, rec.dt, REF_PERIODS, 0.05)
  sd = np.asarray(spectra.spectral_displacement(a.astype(np.float32), rec.dt, REF_PERIODS, 0.05))
  assert sd.dtype == np.float32
  np.testing.assert_allclose(sd, ref, rtol=1e-4)


def test_matches_scipy_lsim_first_order_hold(knet_record):
  a = demeaned(knet_record)[:6000]
  periods = [0.01, 0.05, 0.2, 1.0, 3.0, 10.0]
  ref = np.array([lsim_peak(a, knet_record.dt, p, 0.05) for p in periods])
  with jax.enable_x64(True):
    sd = np.asarray(spectra.spectral_displacement(a, knet_record.dt, periods, 0.05))
  np.testing.assert_allclose(sd, ref, rtol=1e-9)


# --- Definitions ----------------------------------------------------------------


def test_period_zero_is_pga_and_spectra_are_consistent(knet_record):
  a = demeaned(knet_record).astype(np.float32)
  periods = np.array([0.0, 0.1, 1.0])
  psa = np.asarray(spectra.response_spectrum(a, knet_record.dt, periods))
  sd = np.asarray(spectra.spectral_displacement(a, knet_record.dt, periods))
  psv = np.asarray(spectra.pseudo_spectral_velocity(a, knet_record.dt, periods))
  assert psa[0] == pytest.approx(np.max(np.abs(a)), rel=1e-7)
  assert psa[0] == pytest.approx(knet_record.header_pga_ms2, rel=1e-3)
  assert sd[0] == 0 and psv[0] == 0
  w = 2 * np.pi / periods[1:]
  np.testing.assert_allclose(psa[1:], w * w * sd[1:], rtol=1e-6)
  np.testing.assert_allclose(psv[1:], w * sd[1:], rtol=1e-6)
  # A very stiff oscillator follows the ground: PSA(T -> 0) -> PGA.
  stiff = float(spectra.response_spectrum(a, knet_record.dt, [0.001])[0])
  assert stiff == pytest.approx(np.max(np.abs(a)), rel=2e-3)


def test_sdof_response_peaks_equal_spectrum(kiknet_record):
  a = demeaned(kiknet_record)[:3000].astype(np.float32)
  periods = np.array([0.05, 0.5, 2.0])
  resp = spectra.sdof_response(a, kiknet_record.dt, periods)
  sd = spectra.spectral_displacement(a, kiknet_record.dt, periods)
  np.testing.assert_allclose(np.max(np.abs(np.asarray(resp.disp)), axis=-1), np.asarray(sd), rtol=1e-6)


def test_log_periods():
  p = spectra.log_periods(0.02, 5.0, 7)
  assert p[0] == pytest.approx(0.02) and p[-1] == pytest.approx(5.0)
  np.testing.assert_allclose(np.diff(np.log(p)), np.log(250) / 6)
  assert spectra.DEFAULT_PERIODS.shape == (100,)
  assert spectra.DEFAULT_PERIODS[0] == pytest.approx(0.01) and spectra.DEFAULT_PERIODS[-1] == pytest.approx(10.0)
  with pytest.raises(ValueError, match="t_min"):
    spectra.log_periods(0.0, 1.0, 5)
  with pytest.raises(ValueError, match="t_max"):
    spectra.log_periods(1.0, 0.5, 5)
  with pytest.raises(ValueError, match="n must"):
    spectra.log_periods(0.1, 1.0, 1)


# --- JAX transformations ---------------------------------------------------------


def test_grad_matches_central_differences(knet_record):
  a = demeaned(knet_record)[3000:3600]
  periods = np.array([0.0, 0.05, 0.3, 1.0, 3.0])

  def loss(x):
    return jnp.sum(jnp.log(spectra.response_spectrum(x, knet_record.dt, periods)))

  with jax.enable_x64(True):
    x = jnp.asarray(a, jnp.float64)
    g = np.asarray(jax.grad(loss)(x))
    rng = np.random.default_rng(0)
    idx = list(np.argsort(-np.abs(g))[:5]) + list(rng.integers(0, a.size, 5)) + [0, a.size - 1]
    eps = 1e-7
    for i in idx:
      e = jnp.zeros_like(x).at[i].set(eps)
      fd = (loss(x + e) - loss(x - e)) / (2 * eps)
      assert float(fd) == pytest.approx(g[i], rel=1e-5, abs=1e-7 * np.max(np.abs(g))), i
  # float32 gives the same gradient to float32 accuracy.
  g32 = np.asarray(jax.grad(loss)(jnp.asarray(a, jnp.float32)))
  np.testing.assert_allclose(g32, g, rtol=1e-3, atol=1e-4 * np.max(np.abs(g)))


def test_gradient_step_lowers_spectral_misfit(knet_record):
  a = jnp.asarray(demeaned(knet_record)[2000:4000], jnp.float32)
  periods = spectra.log_periods(0.05, 2.0, 20)
  target = 1.5 * spectra.response_spectrum(a, knet_record.dt, periods)

  def misfit(x):
    return jnp.mean((jnp.log(spectra.response_spectrum(x, knet_record.dt, periods)) - jnp.log(target)) ** 2)

  m0, g = jax.value_and_grad(misfit)(a)
  assert np.all(np.isfinite(np.asarray(g)))
  m1 = misfit(a - 0.5 * m0 / jnp.sum(g * g) * g)
  assert float(m1) < 0.8 * float(m0)


def test_batch_equals_one_by_one_and_vmap(knet_record, kiknet_record):
  n = 4000
  batch = np.stack([demeaned(knet_record)[:n], demeaned(kiknet_record)[:n],
                    demeaned(knet_record)[n:2 * n], 0.5 * demeaned(kiknet_record)[n:2 * n]]).astype(np.float32)
  batch = batch.reshape(2, 2, n)
  dt = knet_record.dt
  full = np.asarray(spectra.response_spectrum(batch, dt))
  assert full.shape == (2, 2, spectra.DEFAULT_PERIODS.size)
  for i in range(2):
    for j in range(2):
      np.testing.assert_allclose(full[i, j], np.asarray(spectra.response_spectrum(batch[i, j], dt)), rtol=1e-6)
  vm = jax.vmap(jax.vmap(lambda x: spectra.response_spectrum(x, dt)))(batch)
  np.testing.assert_allclose(np.asarray(vm), full, rtol=1e-6)


def test_compiles_once_per_shape():
  periods = spectra.log_periods(0.05, 5.0, 16)
  f = jax.jit(lambda x: spectra.response_spectrum(x, 0.01, periods))
  rng = np.random.default_rng(1)
  for _ in range(3):
    f(rng.standard_normal((3, 1000)).astype(np.float32)).block_until_ready()
  assert f._cache_size() == 1
  f(rng.standard_normal((5, 1000)).astype(np.float32)).block_until_ready()
  assert f._cache_size() == 2


@pytest.mark.parametrize("block", [1, 2, 4, 8, 16])
def test_every_block_size_is_the_textbook_recursion(knet_record, block):
  # The kernels' block size follows the batch's size where the caller asks (small_batch,
  # spectra._peak_block) and the kind of history, so each size must give the same numbers: peaks with and without their sample,
  # and full histories driven by one record or per oscillator, against the textbook recursion
  # in float64 (1003 samples: a tail outside whole blocks for every size but 1 and 2).
  a = demeaned(knet_record)[2000:3003]
  periods = tuple(REF_PERIODS)
  t = spectra._block_tables(knet_record.dt, periods, 0.05, block)
  with jax.enable_x64(True):
    x = jnp.asarray(np.stack([a, -0.5 * a]))
    delta, w = jnp.asarray(t.delta), jnp.asarray(t.w)
    peak = np.asarray(spectra._peak_kernel(x, delta, w, False))
    peak_arg, idx, _ = (np.asarray(v) for v in spectra._peak_kernel(x, delta, w, True))
    hist = np.asarray(spectra._history_kernel(x, delta, w))  # [2, P, T]
    per_osc = np.asarray(spectra._history_kernel(jnp.broadcast_to(x[:, None], hist.shape), delta, w))
  ref = np.stack([chopra_recursion(r, knet_record.dt, periods, 0.05) for r in np.asarray(x)])
  np.testing.assert_allclose(peak, ref, rtol=1e-9)
  np.testing.assert_allclose(peak_arg, ref, rtol=1e-9)
  np.testing.assert_allclose(np.abs(np.take_along_axis(hist, idx[..., None], -1)[..., 0]), ref, rtol=1e-9)
  np.testing.assert_allclose(np.abs(hist).max(-1), ref, rtol=1e-9)
  np.testing.assert_allclose(per_osc, hist, rtol=0, atol=1e-12 * np.abs(hist).max())


def test_tail_samples_are_included():
  # The blocked kernel advances 8 samples at a time; the peak in the last
  # samples (outside a whole block) must still count.
  for n in (2, 9, 10, 17, 1003):
    a = np.zeros(n, np.float32)
    a[-1] = 5.0
    psa = float(spectra.response_spectrum(a, 0.01, [0.01])[0])
    with jax.enable_x64(True):
      ref = chopra_recursion(a, 0.01, [0.01], 0.05)[0] * (2 * np.pi / 0.01) ** 2
    assert psa == pytest.approx(ref, rel=1e-5), n


# --- Errors ------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(dt=0.0), ValueError, "dt must be a positive"),
    (dict(dt=-0.01), ValueError, "dt must be a positive"),
    (dict(dt="x"), TypeError, "dt must be a number"),
    (dict(periods=[0.1, -1.0]), ValueError, "periods must be >= 0"),
    (dict(periods=[0.1, np.nan]), ValueError, "periods must be finite"),
    (dict(periods=[[0.1, 0.2]]), ValueError, "periods must be a non-empty 1-D"),
    (dict(damping=1.0), ValueError, "damping must lie in"),
    (dict(damping=-0.05), ValueError, "damping must lie in"),
    (dict(accel=np.array([1.0, np.nan, 2.0])), ValueError, r"accel contains NaN or inf \(first at index \(1,\)\)"),
    (dict(accel=np.ones(1)), ValueError, "accel must be"),
    (dict(accel=np.array(["a", "b"])), TypeError, "accel must be a real numeric"),
])
def test_bad_arguments_name_the_argument(kwargs, exc, match):
  args = dict(accel=np.ones(100, np.float32), dt=0.01, periods=[0.1, 1.0], damping=0.05)
  args.update(kwargs)
  with pytest.raises(exc, match=match):
    spectra.response_spectrum(args["accel"], args["dt"], args["periods"], args["damping"])


def test_traced_dt_is_a_clear_error():
  with pytest.raises(TypeError, match="dt must be a concrete number"):
    jax.jit(lambda a, dt: spectra.response_spectrum(a, dt, [0.1]))(np.ones(10, np.float32), 0.01)
