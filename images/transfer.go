package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/images/engine"
)

// Save writes the images refs (tags or IDs) as one archive in the format of
// docker save to path, whole or not at all. The images keep their config,
// berth's labels included, so that after Load berth finds them current.
func Save(ctx context.Context, c engine.API, refs []string, path string) error {
	rc, err := c.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("save images to %s: %w", path, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		return fmt.Errorf("save images to %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save images to %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	return nil
}

// Load loads an archive made by Save (or docker save) into the daemon,
// writing the daemon's lines ("Loaded image: api:dev") to out.
func Load(ctx context.Context, c engine.API, path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer f.Close()
	resp, err := c.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load images from %s: %w", path, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, out, 0, false, nil); err != nil {
		return fmt.Errorf("load images from %s: %w", path, err)
	}
	return nil
}
