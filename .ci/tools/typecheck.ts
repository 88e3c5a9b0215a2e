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
