/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSearchNode.java -- one OpenSearch node for the integration tests,
 * from the jars in build/servers/opensearch (no distribution tarball).
 *
 *   java -cp 'build/servers/opensearch/*:DIR' OpenSearchNode HOME HTTP_PORT TRANSPORT_PORT [KEY=VALUE...]
 *
 * A Node subclass, as OpenSearch's own test nodes are built, with the
 * netty4 plugin on the class path for HTTP and transport: single-node
 * discovery, loopback only, data and logs under HOME, no security plugin.
 * Extra KEY=VALUE arguments are node settings (thread_pool.write.queue_size
 * for the back-pressure test). Prints "started" when HTTP answers and runs
 * until stdin closes or the process gets SIGTERM; then closes the node.
 * tests/integration/opensearch.py compiles it with javac at test time.
 */
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

public final class OpenSearchNode extends Node {
    private OpenSearchNode(Settings settings, Path config) {
        super(InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), config,
                                                          () -> "hp-test"),
              List.of(Netty4Plugin.class), false);
    }

    private static Settings settings(String[] args) {
        String home = args[0];
        Settings.Builder b = Settings.builder()
                                 .put("path.home", home)
                                 .put("path.data", home + "/data")
                                 .put("path.logs", home + "/logs")
                                 .put("cluster.name", "hp-test")
                                 .put("node.name", "hp-test")
                                 .put("discovery.type", "single-node")
                                 .put("network.host", "127.0.0.1")
                                 .put("http.port", args[1])
                                 .put("transport.port", args[2])
                                 .put("http.type", "netty4")
                                 .put("transport.type", "netty4")
                                 .put("cluster.routing.allocation.disk.threshold_enabled", false)
                                 .put("action.auto_create_index", true);
        for (int i = 3; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 1)
                throw new IllegalArgumentException("not KEY=VALUE: " + args[i]);
            b.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        return b.build();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: OpenSearchNode HOME HTTP_PORT TRANSPORT_PORT [KEY=VALUE...]");
            System.exit(2);
        }
        Settings s = settings(args);
        LogConfigurator.registerErrorListener();
        LogConfigurator.configureWithoutConfig(s);
        Node node = new OpenSearchNode(s, Paths.get(args[0], "config"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        node.start();
        System.out.println("started");
        System.out.flush();
        while (System.in.read() >= 0) {
        }
        System.exit(0);
    }
}
