"""Quadrilateral helpers shared by detection, flattening and scoring: corner order, areas, the SmartDoc metric."""
from __future__ import annotations

import cv2
import numpy as np

# SmartDoc 2015 Challenge 1 scores in the document frame at 1 px = 0.1 mm (A4 = 2100 × 2970).
SMARTDOC_PX_PER_MM = 10.0


def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points in geometric order: clockwise in image coordinates (y down), starting nearest the top-left.

    "Nearest the image's top-left" is the corner with the smallest Euclidean distance to (0, 0); the other three
    follow clockwise around the centroid, so the order is defined for a page rotated by any angle.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    # With y pointing down, increasing atan2 angle runs clockwise on screen.
    pts = pts[np.argsort(angles)]
    start = int(np.argmin(np.hypot(pts[:, 0], pts[:, 1])))
    return np.roll(pts, -start, axis=0)


def polygon_area(points: np.ndarray) -> float:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x, y = pts[:, 0], pts[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def is_convex(points: np.ndarray) -> bool:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cross = []
    for i in range(len(pts)):
        a, b, c = pts[i], pts[(i + 1) % len(pts)], pts[(i + 2) % len(pts)]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    cross = np.array(cross)
    return bool(np.all(cross > 0) or np.all(cross < 0))


def side_lengths(corners: np.ndarray) -> np.ndarray:
    pts = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    return np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1)


def interior_angles(corners: np.ndarray) -> np.ndarray:
    """Interior angles in degrees, one per corner."""
    pts = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    out = []
    for i in range(4):
        a = pts[i - 1] - pts[i]
        b = pts[(i + 1) % 4] - pts[i]
        cosang = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9)
        out.append(np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0))))
    return np.array(out)


def jaccard_smartdoc(truth: np.ndarray, found: np.ndarray | None, doc_size_mm: tuple[float, float]) -> float:
    """SmartDoc 2015 Challenge 1 score: Jaccard index after warping both quadrilaterals into the document frame.

    `truth` and `found` are 4×2 corner arrays in the same geometric order (see `order_corners`); `doc_size_mm`
    is the document's (width, height) as seen with the truth's first side as its top. A miss (`found` None) is 0.
    """
    if found is None:
        return 0.0
    w = doc_size_mm[0] * SMARTDOC_PX_PER_MM
    h = doc_size_mm[1] * SMARTDOC_PX_PER_MM
    ref = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    hom = cv2.getPerspectiveTransform(np.asarray(truth, np.float32).reshape(4, 2), ref)
    warped = cv2.perspectiveTransform(np.asarray(found, np.float32).reshape(1, 4, 2), hom).reshape(4, 2)
    if not is_convex(warped):
        return 0.0
    warped = order_corners(warped).astype(np.float32)
    inter, _ = cv2.intersectConvexConvex(ref, warped)
    union = w * h + polygon_area(warped) - inter
    return float(inter / union) if union > 0 else 0.0
