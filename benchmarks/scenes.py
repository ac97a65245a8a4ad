"""Seeded synthetic scenes for the scan benchmark and tests, with exact ground-truth corners.

The distribution is fixed by issue 4 so that the targets mean something:
2592×1944 and 4160×3120 frames; A4 form pages and ID-card-sized cards (one in five); the page's long side spans
55–85 % of the frame height; rotation ±25°; corner jitter up to 2 % of the page size (mild keystone); bases dark mat,
mid grey, wood grain, patterned cloth, white desk, cream desk (balanced: scene i uses base i mod 6); a soft shadow
under the page; lighting fall-off up to 25 %; a glare spot in half the scenes; a hand covering one corner in a third;
Gaussian blur σ 0.6–1.6; JPEG quality 85–90; one scene in seven crosses the frame edge.

`scene(i, seed)` always returns the same image for the same (i, seed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.scanner.geometry import order_corners
from devices.scanner.synthetic import (A4_MM, BASES, ID1_MM, SceneSpec, compose_scene, place_page, render_form_page,
                                       render_id_card)

FRAME_SIZES = ((2592, 1944), (4160, 3120))


@dataclass
class Scene:
    image: np.ndarray  # BGR uint8
    corners: np.ndarray  # 4×2 float, geometric order (clockwise from the corner nearest the top-left)
    doc_mm: tuple[float, float]  # the document's size along corners[0]→[1] and corners[1]→[2]
    base: str
    kind: str  # "a4" | "card"
    frame_size: tuple[int, int]
    crossing: bool
    glare: bool
    hand: bool


def scene(index: int, seed: int = 2015, frame_size: tuple[int, int] | None = None) -> Scene:
    rng = np.random.default_rng([seed, index])
    base = BASES[index % len(BASES)]
    size = frame_size or FRAME_SIZES[int(rng.integers(0, len(FRAME_SIZES)))]
    card = rng.random() < 1 / 5
    crossing = rng.random() < 1 / 7
    glare_on = rng.random() < 1 / 2
    hand_on = rng.random() < 1 / 3
    if card:
        page, mask = render_id_card(rng, width=856, back=bool(rng.random() < 0.5))
        page_mm = ID1_MM
    else:
        page, mask = render_form_page(rng, width=1240), None
        page_mm = A4_MM
    corners = place_page(rng, size, page_mm, crossing=crossing)
    e1, e2 = corners[1] - corners[0], corners[3] - corners[0]
    page_size = float(np.sqrt(abs(e1[0] * e2[1] - e1[1] * e2[0])))
    glare = None
    if glare_on:
        u, v = rng.uniform(0.15, 0.85, 2)
        top = corners[0] + (corners[1] - corners[0]) * u
        bottom = corners[3] + (corners[2] - corners[3]) * u
        gx, gy = top + (bottom - top) * v
        glare = (float(gx), float(gy), float(page_size * rng.uniform(0.08, 0.2)), float(rng.uniform(0.5, 0.9)))
    spec = SceneSpec(
        frame_size=size, corners=corners, base=base, falloff=float(rng.uniform(0, 0.25)), glare=glare,
        hand_corner=int(rng.integers(0, 4)) if hand_on else None, blur_sigma=float(rng.uniform(0.6, 1.6)),
        noise_sigma=float(rng.uniform(1.5, 3.0)), jpeg_quality=int(rng.integers(85, 91)),
        shadow=float(rng.uniform(0.15, 0.35)), seed=int(rng.integers(0, 2**31)),
    )
    image = compose_scene(page, spec, page_mask=mask)
    ordered = order_corners(corners)
    side = np.linalg.norm(ordered[1] - ordered[0]), np.linalg.norm(ordered[2] - ordered[1])
    long_mm, short_mm = max(page_mm), min(page_mm)
    doc_mm = (long_mm, short_mm) if side[0] >= side[1] else (short_mm, long_mm)
    return Scene(image=image, corners=ordered, doc_mm=doc_mm, base=base, kind="card" if card else "a4",
                 frame_size=size, crossing=crossing, glare=glare_on, hand=hand_on)
