// Package engine owns berth's connection to the Docker Engine: finding and
// reaching a daemon (DOCKER_HOST, the default and rootless sockets, TLS,
// ssh:// hosts), the API version negotiated with it, and API, the one
// interface of the Engine API calls berth makes. Everything that talks to a
// daemon (images, runtime/container, compose) goes through API, so unit
// tests can hand them a fake (enginetest.Fake) and only what needs a daemon
// needs one.
//
// It sits below images and the runners: it imports none of them, and
// metadata only for the manifest's TLS and ssh endpoint syntax.
package engine

import (
	"context"
	"io"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// API is the part of the Engine API berth uses, with the signatures of
// github.com/docker/docker/client, so *client.Client is one. A new call
// berth needs (a Swarm service, a secret, an image push) is one method here
// and one function field in enginetest.Fake.
type API interface {
	// ClientVersion is the API version negotiated with the daemon.
	ClientVersion() string
	ServerVersion(ctx context.Context) (types.Version, error)
	Close() error

	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)

	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerAttach(ctx context.Context, containerID string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerKill(ctx context.Context, containerID, signal string) error
	ContainerUpdate(ctx context.Context, containerID string, updateConfig container.UpdateConfig) (container.UpdateResponse, error)
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, containerID string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	// Exec runs hook steps and command checks inside a container.
	ContainerExecCreate(ctx context.Context, containerID string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, options container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	// ContainerExecResize sizes the terminal of berth exec's TTY.
	ContainerExecResize(ctx context.Context, execID string, options container.ResizeOptions) error

	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkRemove(ctx context.Context, networkID string) error

	// Swarm mode, images between machines (runtime/swarm, berth build's push).
	Info(ctx context.Context) (system.Info, error)
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	DistributionInspect(ctx context.Context, imageRef, encodedRegistryAuth string) (registry.DistributionInspect, error)
	SwarmInit(ctx context.Context, req swarm.InitRequest) (string, error)
	SwarmLeave(ctx context.Context, force bool) error
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImagePush(ctx context.Context, ref string, options image.PushOptions) (io.ReadCloser, error)
	ImageSave(ctx context.Context, imageIDs []string, saveOpts ...client.ImageSaveOption) (io.ReadCloser, error)
	ImageLoad(ctx context.Context, input io.Reader, loadOpts ...client.ImageLoadOption) (image.LoadResponse, error)
	ImageTag(ctx context.Context, source string, target string) error
	ServiceCreate(ctx context.Context, spec swarm.ServiceSpec, options swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error)
	ServiceUpdate(ctx context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, options swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	ServiceRemove(ctx context.Context, id string) error
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	ServiceLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error)
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkInspect(ctx context.Context, id string, options network.InspectOptions) (network.Inspect, error)
	SecretCreate(ctx context.Context, spec swarm.SecretSpec) (swarm.SecretCreateResponse, error)
	SecretList(ctx context.Context, options swarm.SecretListOptions) ([]swarm.Secret, error)
	SecretRemove(ctx context.Context, id string) error
	ConfigCreate(ctx context.Context, spec swarm.ConfigSpec) (swarm.ConfigCreateResponse, error)
	ConfigList(ctx context.Context, options swarm.ConfigListOptions) ([]swarm.Config, error)
	ConfigRemove(ctx context.Context, id string) error
	ServiceInspectWithRaw(ctx context.Context, id string, options swarm.ServiceInspectOptions) (swarm.Service, []byte, error)

	// Events streams the daemon's events (the supervisor records those of
	// the environment's containers and Swarm services); the error channel
	// gets one error when the stream ends.
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

var _ API = (*client.Client)(nil)

// Client is a connection to one daemon and what the daemon said about
// itself when first reached.
type Client struct {
	API
	// Endpoint is the daemon's address as berth resolved it.
	Endpoint string
	Ping     types.Ping
}

// HasBuildKit says whether the daemon can build with BuildKit through the
// API: a Linux daemon that speaks API 1.39 or later.
func (c *Client) HasBuildKit() bool {
	os := c.Ping.OSType
	return (os == "" || os == "linux") && !versions.LessThan(c.ClientVersion(), "1.39")
}
