package api

import (
	"context"
	"errors"

	"github.com/mixpeekgo/batches/generated/server"
)

// The operations on tasks.

// errNotYet is the answer (a 500) of the operations of the contract the
// server does not serve yet.
var errNotYet = errors.New("not implemented yet")

func (s *batchesServer) GetTask(ctx context.Context, req server.GetTaskRequestObject) (server.GetTaskResponseObject, error) {
	return nil, errNotYet
}

func (s *batchesServer) ListTasks(ctx context.Context, req server.ListTasksRequestObject) (server.ListTasksResponseObject, error) {
	return nil, errNotYet
}

func (s *batchesServer) KillTask(ctx context.Context, req server.KillTaskRequestObject) (server.KillTaskResponseObject, error) {
	return nil, errNotYet
}
