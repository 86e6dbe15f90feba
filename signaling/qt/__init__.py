"""The only Qt code in signaling: video view, event bridge, asyncio–Qt loop (qasync)."""
