"""Document camera (高拍仪): camera layer, page detection, flattening, cleaning and output (see docs/scanner.md)."""
