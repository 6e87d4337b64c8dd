/**
 * OpenTelemetry traces, exported by OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT. Loaded only when that
 * is set: workers/stack.ts imports this module dynamically, so without it no OpenTelemetry code is loaded
 * and no provider is registered.
 *
 * One trace per tool call:
 *   tools/call <tool>                 (mcp/tool-registry.ts, through `toolSpan`)
 *   └ StartWorkflow:<type>            (client interceptor; the context rides in the workflow's headers)
 *     └ RunWorkflow:<type>            (workflow interceptors in the bundle, exported through a sink)
 *       └ StartActivity:<name>        (workflow outbound interceptor; context in the activity's headers)
 *         └ RunActivity:<name>        (activity inbound interceptor, on whichever worker runs it)
 * Spans carry ids (workflow, run, activity) and tool names, never arguments, results or mail metadata.
 */
import { createRequire } from 'node:module';
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Logger } from '../core/logger.js';

export interface TracingSettings {
  otlpEndpoint: string;
  serviceName: string;
}

/** What a tool call reports back to its span: an error result is the span's error. */
export interface ToolOutcome {
  isError?: boolean;
  content?: unknown[];
}

export interface Tracing {
  /** Interceptors for every Temporal client of this process. */
  clientInterceptors: WorkflowClientInterceptor[];
  /** Worker options: activity interceptors, the workflow interceptor module, and the sink it exports by. */
  worker: {
    activityInterceptors: NonNullable<WorkerInterceptors['activity']>;
    workflowModules: string[];
    sinks: InjectedSinks<OpenTelemetrySinks>;
  };
  /** Run one MCP tool call inside its span (the parent of every workflow it starts). */
  toolSpan<T extends ToolOutcome>(tool: string, run: () => Promise<T>): Promise<T>;
  /** Export what is buffered and unregister (after the workers have stopped). */
  shutdown(): Promise<void>;
}

/** OTEL_EXPORTER_OTLP_ENDPOINT is the base URL: the traces signal is at <base>/v1/traces (OTLP spec). */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

export function startTracing(settings: TracingSettings, log: Logger): Tracing {
  const resource = new Resource({ 'service.name': settings.serviceName });
  const url = tracesUrl(settings.otlpEndpoint);
  // OTEL_EXPORTER_OTLP_HEADERS (e.g. an API key) and OTEL_BSP_* are read by the SDK itself.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({
    contextManager: new AsyncLocalStorageContextManager().enable(),
    propagator: new W3CTraceContextPropagator(),
  });
  log.info('exporting traces', { url, serviceName: settings.serviceName });

  const tracer = otel.trace.getTracer('durable-inbox');
  const workflowInterceptors = createRequire(import.meta.url).resolve(
    '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
  );
  return {
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor()],
    worker: {
      activityInterceptors: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      workflowModules: [workflowInterceptors],
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    },
    toolSpan: (tool, run) =>
      tracer.startActiveSpan(
        `tools/call ${tool}`,
        {
          kind: otel.SpanKind.SERVER,
          attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool },
        },
        async (span) => {
          try {
            const outcome = await run();
            if (outcome.isError) {
              // The error type only (`Type: message` → Type): messages may name what the caller sent.
              const type = errorType(outcome);
              span.setAttribute('error.type', type);
              span.setStatus({ code: otel.SpanStatusCode.ERROR, message: type });
            }
            return outcome;
          } finally {
            span.end();
          }
        },
      ),
    shutdown: async () => {
      await provider.shutdown();
      otel.trace.disable();
      otel.context.disable();
      otel.propagation.disable();
    },
  };
}

function errorType(outcome: ToolOutcome): string {
  const first = outcome.content?.[0] as { type?: string; text?: string } | undefined;
  const match = first?.type === 'text' ? /^(\w+):/.exec(first.text ?? '') : null;
  return match?.[1] ?? 'Error';
}
