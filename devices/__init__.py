"""Device layer: ID-card reader, document camera, receipt printer, their simulators and the shared health model.

Nothing here imports `kiosk` or `screens`: devices turn device-neutral commands into wire bytes and back.
"""
