package membership

import (
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/gossip"
	pb "github.com/h2rpc/h2rpc/gossip/membership/membershippb"
	"github.com/h2rpc/h2rpc/stub"
)

// maxBacklog is how many events a watcher may fall behind by before its
// stream is ended (it then reconnects and starts from a new snapshot).
const maxBacklog = 4096

// Register serves node's membership on s. When s is a *stub.Server, its
// GracefulStop ends the Watch streams (with UNAVAILABLE, so that watchers
// move to another member) rather than waiting for them, which would be
// for ever: register after starting the server's announcer, whose leave
// then goes first and reaches the watchers through these streams.
func Register(s stub.ServiceRegistrar, node *gossip.Node) {
	svc := &service{node: node, stopping: make(chan struct{})}
	pb.RegisterMembershipServer(s, svc)
	if srv, ok := s.(*stub.Server); ok {
		srv.BeforeGracefulStop(func() { close(svc.stopping) })
	}
}

type service struct {
	pb.UnimplementedMembershipServer
	node     *gossip.Node
	stopping chan struct{} // closed when the server stops
}

// Watch sends the snapshot, then every event, until the call ends.
func (s *service) Watch(_ *pb.WatchRequest, stream pb.Membership_WatchServer) error {
	events := make(chan gossip.Event, maxBacklog)
	overflow := make(chan struct{})
	members, cancel := s.node.Subscribe(func(e gossip.Event) {
		select {
		case events <- e:
		default:
			select {
			case <-overflow:
			default:
				close(overflow)
			}
		}
	})
	defer cancel()
	snap := &pb.Snapshot{Members: make([]*pb.Member, len(members))}
	for i, m := range members {
		snap.Members[i] = toProto(m)
	}
	if err := stream.Send(&pb.WatchResponse{Kind: &pb.WatchResponse_Snapshot{Snapshot: snap}}); err != nil {
		return err
	}
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.stopping:
			return status.Error(codes.Unavailable, "the member is stopping; watch another")
		case <-overflow:
			return status.Error(codes.ResourceExhausted, "membership watcher fell more than 4096 events behind; watch again")
		case e := <-events:
			ev := &pb.Event{Type: pb.EventType(e.Type), Member: toProto(e.Member)}
			if err := stream.Send(&pb.WatchResponse{Kind: &pb.WatchResponse_Event{Event: ev}}); err != nil {
				return err
			}
		}
	}
}

func toProto(m gossip.Member) *pb.Member {
	return &pb.Member{Name: m.Name, Addr: m.Addr, Meta: m.Meta, Incarnation: m.Incarnation, State: pb.State(m.State)}
}

func fromProto(m *pb.Member) gossip.Member {
	return gossip.Member{Name: m.GetName(), Addr: m.GetAddr(), Meta: m.GetMeta(), Incarnation: m.GetIncarnation(), State: gossip.State(m.GetState())}
}
