"""`kiosk scan detect` and `kiosk scan process`: the document-camera page pipeline on image files."""
from __future__ import annotations

import click

from kiosk.cli.common import echo_json


@click.group("scan")
def scan_group() -> None:
    """Document camera (高拍仪) pages: find, flatten, clean, assemble."""


@scan_group.command("detect")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def detect_cmd(image: str, as_json: bool) -> None:
    """Page corners in IMAGE (after its EXIF orientation); "corners": null when no page is found (exit 0)."""
    from devices.scanner.detect import detect_page
    from devices.scanner.pipeline import load_image

    det = detect_page(load_image(image))
    doc = det.as_dict()
    if as_json:
        echo_json(doc)
    elif det.corners is None:
        click.echo(f"no page found (confidence {doc['confidence']:.2f}) in {doc['image_size'][0]}×{doc['image_size'][1]}")
    else:
        pts = "  ".join(f"({x:.1f}, {y:.1f})" for x, y in doc["corners"])
        click.echo(f"page corners {pts}  confidence {doc['confidence']:.2f}")


@scan_group.command("process")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="OUT.jpg, OUT.png or OUT.pdf (several pages need .pdf; bw needs .pdf or .png).")
@click.option("--mode", type=click.Choice(["color", "gray", "bw"]), default="color", show_default=True)
@click.option("--dpi", type=int, default=200, show_default=True, help="Output resolution (200–600).")
@click.option("--max-bytes", type=int, default=None, help="Byte cap on the output file (the platform's upload limit).")
@click.option("--idcard", is_flag=True, help="ID-card copy: exactly two images, front then back, on one A4 page.")
@click.option("--watermark", default=None,
              help='Text across the page; on by default with --idcard (仅供办理政务服务事项使用); "" turns it off.')
@click.option("--json", "as_json", is_flag=True, help="Print the settings finally used as one JSON document.")
def process_cmd(images: tuple[str, ...], output: str, mode: str, dpi: int, max_bytes: int | None, idcard: bool,
                watermark: str | None, as_json: bool) -> None:
    """Crop, flatten and clean IMAGE... into one file."""
    from devices.scanner.pipeline import load_image, process_pages

    frames = [load_image(p) for p in images]
    result = process_pages(frames, output, mode=mode, dpi=dpi, max_bytes=max_bytes, idcard=idcard, watermark=watermark)
    if as_json:
        echo_json(result)
    else:
        q = f", quality {result['quality']}" if result["quality"] else ""
        click.echo(f"{output}: {result['pages']} page(s), {result['mode']}, {result['dpi']} dpi{q}, {result['bytes']} bytes")
        for i, info in enumerate(result["page_info"], 1):
            for w in info["warnings"]:
                click.echo(f"page {i}: {w['message']} — {w['action']}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(scan_group)
