package swarm

import "github.com/berthdev/berth/images/engine"

// API is the Engine API as berth reaches it (engine.API), which has the
// Swarm calls this runner makes; tests may give enginetest.Fake.
type API = engine.API
