export interface LocalRedisCluster {
  nodes: { host: string; port: number }[];
  /** `host:port,host:port,…`: the form `REDIS_CLUSTER_NODES` takes. */
  spec: string;
  kill(port: number): void;
  info(port: number): Promise<Record<string, string> | null>;
  stop(): void;
}
export function startRedisCluster(options?: { masters?: number }): Promise<LocalRedisCluster>;
