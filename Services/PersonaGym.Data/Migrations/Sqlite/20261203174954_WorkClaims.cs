using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PersonaGym.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class WorkClaims : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ClaimedAt",
                table: "BatchWork",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "ClaimedBy",
                table: "BatchWork",
                type: "TEXT",
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
