// A client of openapi.yaml as a TypeScript user makes it: the types by
// openapi-typescript (into gen/schema.d.ts, by .ci/spec-checks), the calls
// by openapi-fetch. tsc must accept every call below: the body of List
// Batches is optional and so is each of its fields (issue 9, row 7: with
// a default on offset and limit, openapi-typescript made them required),
// status takes null, collection_id a string or null; and the answer's
// fields read as the contract has them.
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/schema";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });
const params = {
  path: { bucket_identifier: "bkt_demo" },
  header: { "X-Namespace": "demo" },
};
const list = "/v1/buckets/{bucket_identifier}/batches/list" as const;

export async function calls(): Promise<void> {
  await client.POST(list, { params, body: {} });
  await client.POST(list, { params });
  await client.POST(list, { params, body: { status: null } });
  await client.POST(list, { params, body: { status: "FAILED", collection_id: "col_products01", offset: 0, limit: 10 } });
  await client.POST(list, { params, body: { collection_id: null } });
  const { data } = await client.POST(list, { params, body: {} });
  if (data) {
    const total: number = data.total_count;
    const b: components["schemas"]["Batch"] | undefined = data.results[0];
    const bucket: string | undefined = b?.bucket_id;
    const tier: components["schemas"]["TierTaskInfo"] | undefined = b?.tier_tasks?.[0];
    const source: string | undefined = tier?.source_type;
    const written: number | null | undefined = tier?.documents_written;
    console.log(total, bucket, source, written, b?.dag_tiers, b?.manifest_key);
  }
}

// The lifecycle (2.1.0): request bodies whose fields all have defaults
// take {} (the defaults sit inside allOf), submit takes no body, the task
// operations take no X-Namespace, and the answers read as the contract has
// them.
const batch = "/v1/buckets/{bucket_identifier}/batches/{batch_id}" as const;
const batchParams = {
  path: { bucket_identifier: "bkt_demo", batch_id: "btch_a1b2c3d4e5f6" },
  header: { "X-Namespace": "demo" },
};

export async function lifecycle(): Promise<void> {
  const created = await client.POST("/v1/buckets/{bucket_identifier}/batches", {
    params: { ...params, query: { skip_validation: true } },
    body: { object_ids: ["obj_1", "obj_2"] },
  });
  const id: string | undefined = created.data?.batch_id;
  await client.POST(`${batch}/objects`, { params: batchParams, body: { object_ids: ["obj_3"] } });
  await client.PATCH(batch, { params: batchParams, body: { metadata: { owner: "me" } } });
  await client.PATCH(batch, { params: batchParams, body: { metadata: null } });
  const submitted = await client.POST(`${batch}/submit`, { params: batchParams });
  await client.POST(`${batch}/submit`, { params: batchParams, body: {} });
  const task: string | undefined = submitted.data?.task_id;
  const status: components["schemas"]["TaskStatus"] | undefined = submitted.data?.status;
  await client.GET(batch, { params: batchParams });
  await client.POST(`${batch}/cancel`, { params: batchParams });
  const retried = await client.POST(`${batch}/retry`, { params: batchParams, body: {} });
  await client.POST(`${batch}/retry`, { params: batchParams, body: { retry_mode: "all", tier_nums: [1], max_retry_count: 5 } });
  const previous: string | null | undefined = retried.data?.previous_task_id;
  const deleted = await client.DELETE(batch, { params: batchParams });
  const ok: boolean | undefined = deleted.data?.success;
  const got = await client.GET("/v1/tasks/{task_id}", { params: { path: { task_id: "task_9f8e7d6c5b4a" } } });
  const type: components["schemas"]["TaskType"] | undefined = got.data?.task_type;
  const page = await client.POST("/v1/tasks/list", { params: { query: { limit: 10, include_total: true } }, body: { status: "FAILED", task_type: null } });
  await client.POST("/v1/tasks/list", {});
  const next: string | null | undefined = page.data?.pagination.next_cursor;
  await client.DELETE("/v1/tasks/{task_id}", { params: { path: { task_id: "task_9f8e7d6c5b4a" } } });
  console.log(id, task, status, previous, ok, type, next);
}
