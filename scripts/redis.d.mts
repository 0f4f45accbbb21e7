export function pingRedis(host: string, port: number, ms?: number): Promise<boolean>;
export function freePort(): Promise<number>;
export function redisServerBinary(): string;
export function startRedisServer(options?: {
  port?: number;
  detached?: boolean;
}): Promise<{ url: string; port: number; pid: number | undefined; stop: () => void }>;
export function resolveRedis(options?: {
  detached?: boolean;
}): Promise<{ url: string; started: boolean; stop: () => void }>;
