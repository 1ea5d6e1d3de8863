export declare function project(name: string, extra?: Record<string, unknown>): Record<string, unknown>;
