using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PersonaGym.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class WorkClaims : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ClaimedAt",
                table: "BatchWork",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "ClaimedBy",
                table: "BatchWork",
                type: "uuid",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ClaimedAt",
                table: "BatchWork");

            migrationBuilder.DropColumn(
                name: "ClaimedBy",
                table: "BatchWork");
        }
    }
}
