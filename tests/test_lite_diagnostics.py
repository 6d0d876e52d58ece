"""The lite-backbone diagnostics: degradation_floor.py's halves and pixel noise, scale_gap.py's
high-frequency residual (what says whether a generator's images are speckled)."""

import numpy as np
from script_loader import load_script

degradation_floor = load_script("degradation_floor")  # first: scale_gap imports it by name
scale_gap = load_script("scale_gap")


def test_the_real_halves_are_disjoint_cover_the_set_and_repeat():
    images = np.arange(11)
    first, second = degradation_floor.real_halves(images)
    assert len(first) == 5 and len(second) == 6
    assert sorted(np.concatenate([first, second]).tolist()) == list(range(11))
    again = degradation_floor.real_halves(images)
    assert first.tolist() == again[0].tolist()


def _face_on_white(size: int = 64) -> np.ndarray:
    """A white image with a flat orange disc in the middle: an emoji's flat fills and background."""
    image = np.full((size, size, 3), 255, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    image[(yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2] = (250, 180, 40)
    return image


def test_the_high_frequency_residual_sees_background_speckle_and_nothing_on_flat_white():
    clean = np.stack([_face_on_white()] * 4)
    assert scale_gap.high_frequency(np.full((2, 64, 64, 3), 255, np.uint8))["background"] == 0.0
    found = scale_gap.high_frequency(clean)
    assert found["background"] < 0.5 and 0.5 < found["background_share"] < 0.9  # the disc's edge leaks in a little
    assert found["all"] > found["background"]
    noisy = scale_gap.high_frequency(degradation_floor.pixel_noise(clean, 4.0))
    louder = scale_gap.high_frequency(degradation_floor.pixel_noise(clean, 8.0))
    assert found["background"] + 1.0 < noisy["background"] < louder["background"]
    assert noisy["background_share"] > 0.5  # noise of 4/255 on white still counts as background
