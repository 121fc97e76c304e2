"""Run the real program under the Pulumi SDK's mock engine and record what it registers."""
