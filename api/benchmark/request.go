package benchmark

import (
	"encoding/json"
	"net/http"

	"github.com/mixpeekgo/batches/generated/server"
)

// Path is the List Batches path of the seeded bucket.
const Path = "/v1/buckets/" + BucketID + "/batches/list"

// BatchesPath is the path of the seeded bucket's batches: create's.
const BatchesPath = "/v1/buckets/" + BucketID + "/batches"

// CreateBody is the body of the create requests of the benchmarks: a
// batch of two objects.
const CreateBody = `{"object_ids":["obj_a","obj_b"]}`

// BatchPath is the path of the batch id of the seeded bucket: GET's.
func BatchPath(id string) string { return BatchesPath + "/" + id }

// Body returns the JSON body of a List Batches request for limit batches
// from offset, of status status, or of every status when status is "".
func Body(status server.TaskStatus, offset int64, limit int) []byte {
	l := int32(limit)
	req := server.ListBatchesRequest{Offset: &offset, Limit: &l}
	if status != "" {
		req.Status = &status
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err) // a struct of pointers to numbers and a string
	}
	return b
}

// CollectionBody returns the JSON body of a List Batches request for limit
// batches from offset, of the collection collection (collection_id), of
// every status.
func CollectionBody(collection string, offset int64, limit int) []byte {
	l := int32(limit)
	b, err := json.Marshal(server.ListBatchesRequest{CollectionId: &collection, Offset: &offset, Limit: &l})
	if err != nil {
		panic(err)
	}
	return b
}

// SetHeaders sets on h the headers of a List Batches request on the seeded
// bucket: Authorization with APIKey, X-Namespace and Content-Type.
func SetHeaders(h http.Header) {
	for k, v := range Headers() {
		h.Set(k, v)
	}
}

// Headers returns the headers SetHeaders sets, by name.
func Headers() map[string]string {
	return map[string]string{
		"Authorization": "Bearer " + APIKey,
		"X-Namespace":   Namespace,
		"Content-Type":  "application/json",
	}
}
