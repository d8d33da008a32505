"""The engine watcher: records when each image was last used, from the engine's own events.

- `state`: the pure event -> usage logic (no Django, no docker): any process that can read an
  engine's events (this one, or an agent on another host later) can run it.
- `store`: the watcher's database side: the lease (one watcher per environment), applying a batch.
- `runner`: the long-running loop per environment (connect, replay, reconcile, follow, back off).
"""
